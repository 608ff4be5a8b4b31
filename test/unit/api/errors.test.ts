import { Prisma } from '../../../generated/prisma/client';
import { isDependencyOutage } from '../../../api/errors';
import { databaseErrorKind } from '../../../infra/db';

const prismaError = (code: string, kind?: string) =>
  new Prisma.PrismaClientKnownRequestError('failed', {
    code,
    clientVersion: 'test',
    meta: kind ? { driverAdapterError: { name: 'DriverAdapterError', cause: { kind } } } : undefined,
  });

describe('dependency outages answer 503', () => {
  it('recognises an unreachable or lost database, however Prisma reports it', () => {
    expect(isDependencyOutage(prismaError('P1001'))).toBe(true);
    expect(isDependencyOutage(prismaError('P2024'))).toBe(true);
    expect(isDependencyOutage(prismaError('P2028'))).toBe(true);
    expect(isDependencyOutage(prismaError('P2010', 'ConnectionClosed'))).toBe(true);
    expect(isDependencyOutage(prismaError('P2010', 'DatabaseNotReachable'))).toBe(true);
  });
  it('leaves real request errors alone', () => {
    expect(isDependencyOutage(prismaError('P2002'))).toBe(false);
    expect(isDependencyOutage(prismaError('P2010', 'UniqueConstraintViolation'))).toBe(false);
    expect(isDependencyOutage(new Error('boom'))).toBe(false);
  });
});

describe('one classification of database errors, whichever driver path raised them', () => {
  const pgError = (code: string, message = 'failed') => Object.assign(new Error(message), { code });
  const viaPrismaAdapter = (cause: Record<string, unknown>) =>
    new Prisma.PrismaClientKnownRequestError('failed', {
      code: 'P2010',
      clientVersion: 'test',
      meta: { driverAdapterError: { name: 'DriverAdapterError', cause } },
    });

  it('answers 503 for the connection failures the PostgreSQL-outage drill saw', () => {
    // pg-pool through Prisma's adapter while PostgreSQL restarts
    expect(isDependencyOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDependencyOutage(new Prisma.PrismaClientUnknownRequestError('Connection terminated unexpectedly', { clientVersion: 'test' }))).toBe(true);
    expect(isDependencyOutage(viaPrismaAdapter({ kind: 'postgres', originalMessage: 'Connection terminated unexpectedly' }))).toBe(true);
    expect(isDependencyOutage(Object.assign(new Error('wrapped'), { cause: new Error('Connection terminated unexpectedly') }))).toBe(true);
    expect(isDependencyOutage(pgError('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isDependencyOutage(pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBe(true);
    expect(isDependencyOutage(viaPrismaAdapter({ kind: 'postgres', originalCode: '08006' }))).toBe(true);
    expect(isDependencyOutage(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });

  it('calls refused data a data error, never an outage', () => {
    expect(databaseErrorKind(pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00'))).toBe('DATA');
    expect(databaseErrorKind(pgError('22001', 'value too long'))).toBe('DATA');
    expect(databaseErrorKind(pgError('23503', 'violates foreign key constraint'))).toBe('DATA');
    expect(databaseErrorKind(viaPrismaAdapter({ kind: 'postgres', originalCode: '22P02' }))).toBe('DATA');
    expect(databaseErrorKind(pgError('42P01', 'relation does not exist'))).toBe('OTHER');
    expect(databaseErrorKind(new Error('boom'))).toBe('OTHER');
  });
});
