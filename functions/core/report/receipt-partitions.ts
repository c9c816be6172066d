import type { Receipt } from './summary';
import { partitionOf } from './tally';

/**
 * A plan's receipts, at any size: not three small files an account (1.1 million accounts would be 3.3
 * million files and tens of gigabytes of renderings), but one line of compact JSON an account, in the
 * partition files of `receipts/` that its account hashes to (tally.partitionOf), with `partitions.json`
 * naming how many there are. An account's receipt is found by reading its one partition (about
 * `partitionRecords` decisions); its HTML and text are rendered when asked for (`esep-migrate receipt`).
 */
export const PARTITIONS_FILE = 'partitions.json';

export interface ReceiptPartitions {
  readonly partitions: number;
  readonly accounts: number;
}

/** The file of a receipts partition, in `receipts/`. */
export const partitionFile = (partition: number) => `${String(partition).padStart(5, '0')}.ndjson`;

/** The partition file that holds an account's receipt. */
export const partitionFileOf = (accountId: string, index: ReceiptPartitions) =>
  partitionFile(partitionOf(accountId, index.partitions));

/** One receipt as a line of its partition: its account id first, so that it is found without parsing others. */
export function receiptLine(receipt: Receipt): string {
  // buildReceipt puts the account first; a receipt made otherwise is copied so that it is.
  const text = JSON.stringify(receipt);
  if (text.startsWith('{"accountId":')) return `${text}\n`;
  const { accountId, ...rest } = receipt;
  return `${JSON.stringify({ accountId, ...rest })}\n`;
}

/** An account's receipt among the lines of its partition, or undefined. */
export function findReceipt(partition: string, accountId: string): Receipt | undefined {
  const start = `{"accountId":${JSON.stringify(accountId)},`;
  const at = partition.startsWith(start) ? 0 : partition.indexOf(`\n${start}`);
  if (at < 0) return undefined;
  const from = at === 0 ? 0 : at + 1;
  const end = partition.indexOf('\n', from);
  return JSON.parse(partition.slice(from, end < 0 ? undefined : end)) as Receipt;
}

/** Whether a text is a receipts partitions index this code wrote. */
export function isReceiptPartitions(value: unknown): value is ReceiptPartitions {
  const v = value as Partial<ReceiptPartitions> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isInteger(v.partitions) &&
    (v.partitions as number) > 0 &&
    Number.isInteger(v.accounts)
  );
}
