import { Writable } from 'node:stream';

/**
 * Where the test processes' JSON logs go: kept while a test records them, otherwise dropped
 * except errors, which are echoed to stderr so a failing run still explains itself.
 */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  recording = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      if (this.recording) this.lines.push(line);
      else if ((JSON.parse(line) as { level: number }).level >= 50) process.stderr.write(`${line}\n`);
    }
    done();
  }
}
