import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { LANGUAGES } from '../functions/core/report/i18n';

/**
 * Packs the message catalogues (functions/core/report/messages/<language>.json) into messages/packed.ts,
 * brotli-compressed, which is what the functions carry (core/report/i18n). Run after editing a catalogue:
 * `npm run messages`; a unit test fails while the pack and the catalogues differ.
 */
export const MESSAGES_DIR = join(__dirname, '..', 'functions', 'core', 'report', 'messages');

/** Every catalogue as the JSON files have it, by language. */
export const readCatalogues = (): Record<string, Record<string, string>> =>
  Object.fromEntries(
    LANGUAGES.map((language) => [
      language,
      JSON.parse(readFileSync(join(MESSAGES_DIR, `${language}.json`), 'utf8')) as Record<string, string>,
    ]),
  );

export function pack(): string {
  const json = JSON.stringify(readCatalogues());
  return brotliCompressSync(Buffer.from(json, 'utf8'), {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: json.length },
  }).toString('base64');
}

if (require.main === module) {
  const packed = pack();
  writeFileSync(
    join(MESSAGES_DIR, 'packed.ts'),
    `// Made by \`npm run messages\` (tools/pack-messages.ts) from the JSON catalogues beside it: do not edit.\nexport const PACKED_MESSAGES =\n  '${packed}';\n`,
  );
  console.log(`packed ${LANGUAGES.length} catalogues into ${packed.length} characters`);
}
