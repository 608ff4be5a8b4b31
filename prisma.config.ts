import { defineConfig } from 'prisma/config';

// The CLI reads the URL from the environment; the application validates its
// own configuration in infra/config.ts with the same development default.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/payments' },
});
