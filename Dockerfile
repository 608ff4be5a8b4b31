# syntax=docker/dockerfile:1
# One image for the api, the worker and the migrations; docker-compose.yml picks the command.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the project's own postinstall needs the schema (copied below) and the
# dependencies ship prebuilt binaries; the Prisma client is generated explicitly instead.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY prisma ./prisma
COPY prisma.config.ts ./
# generate needs no schema engine; the placeholder stops Prisma from trying to download one.
RUN PRISMA_SCHEMA_ENGINE_BINARY=/bin/true npx prisma generate
# The ops & finance console: static files the API serves under /console.
COPY console ./console
RUN npx vite build --config console/vite.config.mts

FROM node:20-bookworm-slim
WORKDIR /app
# Fail closed: ADMIN_TOKEN, CREDENTIALS_KEYS, PII_KEYS and PII_HASH_KEY required, sandbox refused (NODE_ENV unset means the same);
# compose sets development for a local try-out.
ENV NODE_ENV=production
COPY . .
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/generated ./generated
COPY --from=deps /app/console/dist ./console/dist
USER node
EXPOSE 3000
# `node --import tsx` rather than `npx tsx`: npx does not pass SIGTERM on, so no graceful stop.
CMD ["node", "--import", "tsx", "api/server.ts"]
