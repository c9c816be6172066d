/**
 * The whole of a stream of bytes (an object's body, a request's), in one buffer: for what is read whole
 * and is bounded by its caller (a manifest, a filter of the run's index, a report part).
 */
export async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.isBuffer(part) ? part : Buffer.from(part));
  return Buffer.concat(parts);
}
