import { CuttableTcpProxy } from './tcp-proxy';

/**
 * A TCP proxy between our processes and PostgreSQL that reads the frontend half of the wire
 * protocol: it counts the statements executed (like pg_stat_statements, which this server does not
 * preload) and can cut the database off, for the outage drill, without touching PostgreSQL itself.
 */
export class PgProxy extends CuttableTcpProxy {
  /** Executions by statement text (whitespace collapsed), since the last reset. */
  readonly statements = new Map<string, number>();

  /** postgresql://… URL of the upstream rewritten to go through this proxy. */
  static viaProxy(databaseUrl: string, proxyPort: number): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(proxyPort);
    return url.toString();
  }

  totalStatements(): number {
    let total = 0;
    for (const n of this.statements.values()) total += n;
    return total;
  }

  resetCounts() {
    this.statements.clear();
  }

  protected override onClientData() {
    const parser = new FrontendParser((text) => this.statements.set(text, (this.statements.get(text) ?? 0) + 1));
    return (chunk: Buffer) => parser.push(chunk);
  }
}

/**
 * Follows one connection's frontend messages: simple Query ('Q'), and the extended protocol's
 * Parse ('P') → Bind ('B') → Execute ('E'), mapping portals back to their statement's text.
 */
class FrontendParser {
  private buffer: Buffer = Buffer.alloc(0);
  private startupDone = false;
  private readonly statementText = new Map<string, string>();
  private readonly portalText = new Map<string, string>();

  constructor(private readonly onExecute: (text: string) => void) {}

  push(chunk: Buffer) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (!this.startupDone) {
        // Untyped start-up messages: length, then protocol code (SSLRequest/GSSENCRequest come first, if at all).
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        this.buffer = this.buffer.subarray(length);
        if (code !== 80877103 && code !== 80877104) this.startupDone = true;
        continue;
      }
      if (this.buffer.length < 5) return;
      const type = String.fromCharCode(this.buffer[0]!);
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      this.handle(type, this.buffer.subarray(5, 1 + length));
      this.buffer = this.buffer.subarray(1 + length);
    }
  }

  private handle(type: string, body: Buffer) {
    const strings = () => body.toString('utf8').split('\0');
    if (type === 'Q') {
      this.onExecute(normalize(strings()[0]!));
    } else if (type === 'P') {
      const [name, text] = strings();
      this.statementText.set(name!, normalize(text!));
    } else if (type === 'B') {
      const [portal, statement] = strings();
      this.portalText.set(portal!, this.statementText.get(statement!) ?? '(unknown statement)');
    } else if (type === 'E') {
      const [portal] = strings();
      this.onExecute(this.portalText.get(portal!) ?? '(unknown portal)');
    }
  }
}

const normalize = (sql: string) => sql.replace(/\s+/g, ' ').trim();
