/**
 * `--image DIR`: a raw image of a snapshot (what `dd` of the volume would give), written sparse:
 * the file is sized to the volume first, and only written blocks are written, so unwritten ones
 * cost no disk. Synced before a checkpoint says its blocks are there, and before it is declared
 * done.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export class RawImage {
  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    private readonly blockSize: number,
  ) {}

  /**
   * Opens `DIR/NAME` for a volume of `volumeBytes`. A new image must not exist yet (evidence is
   * never overwritten); `resume` reopens the one an interrupted run left.
   */
  static async open(dir: string, name: string, volumeBytes: number, blockSize: number, resume: boolean): Promise<RawImage> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, name);
    const file = await open(path, resume ? 'r+' : 'wx', 0o640);
    try {
      const { size } = await file.stat();
      if (size !== volumeBytes) await file.truncate(volumeBytes);
    } catch (error) {
      await file.close();
      throw error;
    }
    return new RawImage(path, file, blockSize);
  }

  async writeBlock(index: number, data: Uint8Array, length: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await this.file.write(data, done, length - done, index * this.blockSize + done);
      done += bytesWritten;
    }
  }

  /** Reads block `index` into `into`; a hole reads as zeros. */
  async readBlock(index: number, into: Uint8Array): Promise<number> {
    let done = 0;
    while (done < this.blockSize) {
      const { bytesRead } = await this.file.read(into, done, this.blockSize - done, index * this.blockSize + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  sync(): Promise<void> {
    return this.file.sync();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
