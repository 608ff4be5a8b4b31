import { Prisma } from '../../../generated/prisma/client';
import { isDependencyOutage } from '../../../api/errors';

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
