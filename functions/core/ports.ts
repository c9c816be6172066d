/** What the core needs from the world, implemented by the local file system and by S3. */
export interface ExportSource {
  /** The export's folder or prefix name; it must equal the manifest's exportId. */
  readonly name: string;
  /** The bytes of a file of the export (a path relative to it), or undefined when there is none. */
  open(path: string): Promise<AsyncIterable<Uint8Array> | undefined>;
}
