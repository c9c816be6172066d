/**
 * A string from the export made safe for a line of text (a terminal, a `.txt` receipt, a log line):
 * control characters (C0, DEL, C1), line and paragraph separators, bidirectional overrides and lone
 * surrogates are written as visible escapes (`\n`, `\u001b`), so nothing from an export can move the
 * cursor, colour or clear a terminal, start a new line or reorder what a reader sees.
 */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's purpose
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export const neutralise = (text: string): string =>
  text.replace(UNSAFE, (c) => SHORT[c] ?? `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
