import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, operatorErrors, json, jsonBody } from '../shared/openapi';
import {
  accountEntriesQuery,
  accountEntriesResponse,
  accountPath,
  channelsReportQuery,
  channelsReportResponse,
  differencePath,
  differenceView,
  differencesQuery,
  differencesResponse,
  operatorHeader,
  optionalOperatorHeader,
  reconciliationRequest,
  reconciliationStarted,
  resolveBody,
  revenueQuery,
  revenueResponse,
  runPath,
  runQuery,
  runResponse,
  runsQuery,
  runsResponse,
  trialBalanceQuery,
  trialBalanceResponse,
} from './schemas';

export function financePaths(): ZodOpenApiPathsObject {
  const tags = ['Finance'];
  return {
    '/v1/finance/ledger/trial-balance': {
      get: {
        tags,
        summary: 'Trial balance: every account, its debits, credits and balance',
        description:
          'From the double-entry journal (immutable, balanced entries, one per business event). Per currency, the ' +
          'debits of all accounts equal their credits.',
        security: ADMIN,
        requestParams: { query: trialBalanceQuery },
        responses: { 200: json('The accounts and the totals per currency.', trialBalanceResponse), ...operatorErrors() },
      },
    },
    '/v1/finance/ledger/accounts/{account}/entries': {
      get: {
        tags,
        summary: 'The entries of one account, oldest first (paged)',
        security: ADMIN,
        requestParams: { path: z.object({ account: accountPath }), query: accountEntriesQuery },
        responses: { 200: json('A page of entries with all their postings.', accountEntriesResponse), ...operatorErrors() },
      },
    },
    '/v1/finance/reconciliations': {
      post: {
        tags,
        summary: 'Reconcile (again) a channel account\'s statement days',
        description:
          'One run per day, in date order; a run of a day supersedes the day\'s earlier result and keeps it as ' +
          'history. Follow a run with `GET /v1/finance/reconciliations/{runId}`. `X-Operator` (optional) is recorded.',
        security: ADMIN,
        requestParams: { header: z.object({ 'X-Operator': optionalOperatorHeader }) },
        requestBody: jsonBody(reconciliationRequest),
        responses: {
          202: json('The runs, started.', reconciliationStarted),
          ...operatorErrors({ 404: ['CHANNEL_NOT_FOUND'], 422: ['STATEMENT_UNSUPPORTED', 'DATE_IN_FUTURE', 'RANGE_TOO_LONG'] }),
        },
      },
      get: {
        tags,
        summary: 'Reconciliation runs, newest first',
        security: ADMIN,
        requestParams: { query: runsQuery },
        responses: { 200: json('The runs.', runsResponse), ...operatorErrors() },
      },
    },
    '/v1/finance/reconciliations/{runId}': {
      get: {
        tags,
        summary: 'One run: progress, summary and its differences (paged)',
        security: ADMIN,
        requestParams: { path: z.object({ runId: runPath }), query: runQuery },
        responses: { 200: json('The run.', runResponse), ...operatorErrors({ 404: ['RUN_NOT_FOUND'] }) },
      },
    },
    '/v1/finance/differences': {
      get: {
        tags,
        summary: 'Differences across runs: by channel account, statement days, kind and resolution (paged)',
        description: 'Those of each day\'s standing run (a superseded run\'s differences are history), oldest first.',
        security: ADMIN,
        requestParams: { query: differencesQuery },
        responses: { 200: json('A page of differences with their run\'s account and day.', differencesResponse), ...operatorErrors() },
      },
    },
    '/v1/finance/differences/{differenceId}/resolve': {
      post: {
        tags,
        summary: 'Resolve an open (or held) difference',
        description: 'Recorded with `X-Operator` and the note. The same resolution again answers the same.',
        security: ADMIN,
        requestParams: { path: z.object({ differenceId: differencePath }), header: z.object({ 'X-Operator': operatorHeader }) },
        requestBody: jsonBody(resolveBody),
        responses: {
          200: json('The difference, resolved.', differenceView),
          ...operatorErrors({ 404: ['DIFFERENCE_NOT_FOUND'], 409: ['DIFFERENCE_NOT_OPEN'] }),
        },
      },
    },
    '/v1/finance/reports/revenue': {
      get: {
        tags,
        summary: 'Revenue per day or month, by game, channel account, region and currency',
        description:
          'Served from the aggregates each day\'s reconciliation rolls up (a day appears once its run completed: ' +
          'T+1). Amounts are never added across currencies. `format=csv` answers the same rows as CSV.',
        security: ADMIN,
        requestParams: { query: revenueQuery },
        responses: {
          200: {
            description: 'The report.',
            content: { 'application/json': { schema: revenueResponse }, 'text/csv': { schema: { type: 'string' as const } } },
          },
          ...operatorErrors({ 422: ['RANGE_TOO_LONG'] }),
        },
      },
    },
    '/v1/finance/reports/channels': {
      get: {
        tags,
        summary: 'Per channel account: orders placed and paid, success rate, amounts, fees, refunds, chargebacks',
        description:
          '`groupBy=day|month` adds the orders placed and paid and the success rate per account and period. `format=csv` ' +
          'answers the periods (with `groupBy`) or the amounts per account and currency as CSV.',
        security: ADMIN,
        requestParams: { query: channelsReportQuery },
        responses: {
          200: {
            description: 'The report.',
            content: { 'application/json': { schema: channelsReportResponse }, 'text/csv': { schema: { type: 'string' as const } } },
          },
          ...operatorErrors({ 422: ['RANGE_TOO_LONG'] }),
        },
      },
    },
  };
}
