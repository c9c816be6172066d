import { createHmac } from 'node:crypto';

/**
 * Rule ID-2: trim, Unicode NFC, lower case. Repeated until it is stable, so that the result is a fixed
 * point (lower-casing can, for rare characters, leave a string that NFC composes differently).
 */
export function normaliseEmail(email: string): string {
  let current = email;
  for (let i = 0; i < 4; i++) {
    const next = current.trim().normalize('NFC').toLowerCase();
    if (next === current) return next;
    current = next;
  }
  return current;
}

/** Rule ID-5: the identity index stores this keyed hash of the normalised e-mail, never the e-mail. */
export function emailKey(secret: string | Uint8Array, email: string): string {
  return createHmac('sha256', secret).update(normaliseEmail(email), 'utf8').digest('hex');
}
