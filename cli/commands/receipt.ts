import { join } from 'node:path';
import { UsageError } from '../../functions/core/errors';
import {
  findReceipt,
  isReceiptPartitions,
  PARTITIONS_FILE,
  partitionFileOf,
} from '../../functions/core/report/receipt-partitions';
import { receiptHtml, receiptText } from '../../functions/core/report/receipts';
import type { Receipt } from '../../functions/core/report/summary';
import { safeIdSegment } from '../../functions/core/rules/safe-name';
import { textIfThere } from '../text-file';

export const RECEIPT_FORMATS = ['json', 'html', 'text'] as const;
export type ReceiptFormat = (typeof RECEIPT_FORMATS)[number];

/** A report folder that has no receipt for the account asked for: exit 2, as any argument naming nothing. */
export class NoReceiptError extends UsageError {
  override name = 'NoReceiptError';
}

/**
 * An account's receipt in a report folder: a plan's, from the one partition its account hashes to
 * (receipt-partitions.ts), or a run's, from its own file.
 */
export async function readReceipt(reportDir: string, accountId: string): Promise<Receipt> {
  const receipts = join(reportDir, 'receipts');
  const indexText = await textIfThere(join(receipts, PARTITIONS_FILE));
  let found: Receipt | undefined;
  if (indexText !== undefined) {
    const index: unknown = JSON.parse(indexText);
    if (!isReceiptPartitions(index))
      throw new UsageError(`${join(receipts, PARTITIONS_FILE)} is not a receipts index this tool wrote`);
    const partition = await textIfThere(join(receipts, partitionFileOf(accountId, index)));
    found = partition === undefined ? undefined : findReceipt(partition, accountId);
  } else {
    const text = await textIfThere(join(receipts, `${safeIdSegment(accountId)}.json`));
    found = text === undefined ? undefined : (JSON.parse(text) as Receipt);
  }
  if (!found || found.accountId !== accountId)
    throw new NoReceiptError(`${reportDir} has no receipt for account ${accountId}`);
  return found;
}

/**
 * `esep-migrate receipt`: one teacher's receipt from a report folder, as the JSON the folder holds or
 * rendered as the page or the text the support desk sends (every language of the account's country and
 * English).
 */
export async function showReceipt(options: {
  readonly reportDir: string;
  readonly account: string;
  readonly as?: ReceiptFormat;
}): Promise<string> {
  const receipt = await readReceipt(options.reportDir, options.account);
  if (options.as === 'html') return receiptHtml(receipt);
  if (options.as === 'text') return receiptText(receipt);
  return `${JSON.stringify(receipt, null, 2)}\n`;
}
