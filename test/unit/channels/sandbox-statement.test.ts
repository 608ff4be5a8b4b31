import { ChannelError } from '../../../channels/http';
import { parseSandboxStatement } from '../../../channels/sandbox/statement';
import type { StatementRow } from '../../../channels/types';

const HEADER = '\uFEFF交易时间,公众账号ID,商户号,微信订单号,商户订单号,交易状态,货币种类,订单金额,微信退款单号,商户退款单号,退款金额,退款状态,手续费,费率';
const line = (cells: string[]) => cells.map((c) => `\`${c}`).join(',');

async function rows(text: string): Promise<StatementRow[]> {
  const all: StatementRow[] = [];
  for await (const row of parseSandboxStatement(text)) all.push(row);
  return all;
}

describe("the sandbox provider's statement", () => {
  it('reads payments and refunds in minor units with their fees, to the summary', async () => {
    const text = [
      HEADER,
      line(['2026-11-01 00:05:00+08:00', 'sandbox-app', 'sandbox', 'sbxtxn_1', '3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b', 'SUCCESS', 'CNY', '6.00', '0', '0', '0', '', '0.04', '0.60%']),
      line(['2026-11-01 09:30:12+08:00', 'sandbox-app', 'sandbox', 'sbxtxn_2', '7C1D2E3F4A5B8C6D9E7F8A9B0C1D2E3F', 'SUCCESS', 'JPY', '160', '0', '0', '0', '', '1', '0.60%']),
      line(['2026-11-01 12:00:00+08:00', 'sandbox-app', 'sandbox', 'sbxtxn_1', '3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b', 'REFUND', 'CNY', '0', 'sbxrf_rf_x', 'rf_x', '6.00', 'SUCCESS', '-0.04', '0.60%']),
      line(['2026-11-01 13:00:00+08:00', 'sandbox-app', 'sandbox', 'sbxtxn_3', 'not-ours', 'CLOSED', 'CNY', '1.00', '0', '0', '0', '', '0.00', '0.60%']),
      '总交易单数,订单总金额,退款总金额,手续费总金额,货币种类',
      line(['3', '6.00', '6.00', '0.00', 'CNY']),
    ].join('\r\n');
    expect(await rows(text)).toEqual([
      {
        channelTradeNo: 'sbxtxn_1',
        merchantOrderId: '3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b',
        kind: 'PAYMENT',
        amount: { currency: 'CNY', value: 600 },
        fee: { currency: 'CNY', value: 4 },
        occurredAt: '2026-10-31T16:05:00.000Z',
      },
      {
        channelTradeNo: 'sbxtxn_2',
        merchantOrderId: '7c1d2e3f-4a5b-8c6d-9e7f-8a9b0c1d2e3f',
        kind: 'PAYMENT',
        amount: { currency: 'JPY', value: 160 },
        fee: { currency: 'JPY', value: 1 },
        occurredAt: '2026-11-01T01:30:12.000Z',
      },
      {
        channelTradeNo: 'sbxtxn_1',
        merchantOrderId: '3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b',
        kind: 'REFUND',
        amount: { currency: 'CNY', value: 600 },
        fee: { currency: 'CNY', value: 4 },
        occurredAt: '2026-11-01T04:00:00.000Z',
        refundId: 'rf_x',
      },
    ]);
  });

  it('refuses a statement that cannot be read, as final (the next download is the same)', async () => {
    const malformed = async (text: string) => {
      const err = await rows(text).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelError);
      expect((err as ChannelError).transient).toBe(false);
      return (err as ChannelError).message;
    };
    expect(await malformed('交易时间,微信订单号\n')).toMatch(/lacks/);
    expect(await malformed(`${HEADER}\n${line(['2026-11-01 00:05:00', 'a', 'b', 't', 'o', 'SUCCESS', 'CNY', '6.00', '0', '0', '0', '', '0', ''])}`)).toMatch(
      /not a time/,
    );
    expect(await malformed(`${HEADER}\n${line(['2026-11-01 00:05:00+08:00', 'a', 'b', 't', 'o', 'SUCCESS', 'JPY', '1.50', '0', '0', '0', '', '0', ''])}`)).toMatch(
      /decimals/,
    );
    expect(await malformed(`${HEADER}\nno backticks here`)).toMatch(/backtick/);
    expect(await malformed('')).toMatch(/no header/);
  });

  it('takes a statement without its summary as cut short, to be fetched again', async () => {
    const cut = `${HEADER}\n${line(['2026-11-01 00:05:00+08:00', 'a', 'b', 't', 'o', 'SUCCESS', 'CNY', '6.00', '0', '0', '0', '', '0', ''])}\n`;
    const err = await rows(cut).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).toMatchObject({ code: 'STATEMENT_TRUNCATED', transient: true });
  });
});
