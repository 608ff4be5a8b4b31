import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, operatorErrors, json, jsonBody } from '../shared/openapi';
import { capRegionPath, minorCapsBody, minorCapsList, minorCapsResponse, amlReportQuery, amlReportResponse, blacklistBody, blacklistEntry, blacklistKind, blacklistList, blacklistValue, ruleBody, ruleIdPath, ruleResponse, rulesResponse } from './schemas';

export function riskPaths(): ZodOpenApiPathsObject {
  const tags = ['Risk'];
  const blacklistParams = { path: z.object({ kind: blacklistKind, value: blacklistValue }) };
  const ruleParams = { path: z.object({ ruleId: ruleIdPath }) };
  return {
    '/v1/admin/risk/rules': {
      get: {
        tags,
        summary: "The operators' risk rules",
        security: ADMIN,
        responses: { 200: json('Every rule, enabled or not.', rulesResponse), ...operatorErrors() },
      },
    },
    '/v1/admin/risk/rules/{ruleId}': {
      put: {
        tags,
        summary: 'Create or replace a risk rule',
        description:
          'Kinds and their params: docs/risk.md. An order hits a rule when, counted with it, a count exceeds `max` or an ' +
          'amount reaches the threshold; any DENY hit denies, else any REVIEW hit holds the paid order for review. ' +
          'Audited; every process applies it within a second.',
        security: ADMIN,
        requestParams: ruleParams,
        requestBody: jsonBody(ruleBody),
        responses: { 200: json('The rule as stored.', ruleResponse), ...operatorErrors({ 404: ['GAME_NOT_FOUND'] }) },
      },
      delete: {
        tags,
        summary: 'Remove a risk rule',
        security: ADMIN,
        requestParams: ruleParams,
        responses: { 204: { description: 'Removed (audited).' }, ...operatorErrors({ 404: ['RULE_NOT_FOUND'] }) },
      },
    },
    '/v1/admin/risk/minor-caps': {
      get: {
        tags,
        summary: "Minors' spending caps per region",
        description: 'The operators\' caps and the built-in ones they do not replace (CN: under 8 nothing; 8–15 ¥50 a purchase, ¥200 a month; 16–17 ¥100 and ¥400).',
        security: ADMIN,
        responses: { 200: json('Every region with caps.', minorCapsList), ...operatorErrors() },
      },
    },
    '/v1/admin/risk/minor-caps/{region}': {
      put: {
        tags,
        summary: "Set a region's minors' spending caps",
        description:
          'Per minor band, what one purchase may cost and what a calendar month (the game\'s time zone) of pending and paid ' +
          'orders may add up to, in minor units of `currency`. Replaces the built-in caps of the region; audited.',
        security: ADMIN,
        requestParams: { path: z.object({ region: capRegionPath }) },
        requestBody: jsonBody(minorCapsBody),
        responses: { 200: json('The caps as stored.', minorCapsResponse), ...operatorErrors() },
      },
    },
    '/v1/admin/risk/aml-reports': {
      get: {
        tags,
        summary: 'Orders an AML rule hit',
        description:
          'One row per AML_SINGLE or AML_DAILY hit of an order decided in [from, to) (at most 366 days): the order, its ' +
          "amount, the rule, risk's decision and the operator's decision on a review. `format=csv` answers the same rows as CSV.",
        security: ADMIN,
        requestParams: { query: amlReportQuery },
        responses: {
          200: {
            description: 'The report.',
            content: { 'application/json': { schema: amlReportResponse }, 'text/csv': { schema: { type: 'string' as const } } },
          },
          ...operatorErrors({ 422: ['RANGE_TOO_LONG'] }),
        },
      },
    },
    '/v1/admin/risk/blacklist': {
      get: {
        tags,
        summary: 'The blacklist',
        description: 'Expired entries are listed until removed; they deny no more.',
        security: ADMIN,
        responses: { 200: json('Every entry.', blacklistList), ...operatorErrors() },
      },
    },
    '/v1/admin/risk/blacklist/{kind}/{value}': {
      put: {
        tags,
        summary: 'Block a user, device, IP address or CIDR block',
        description:
          'A CIDR block has its slash URL-encoded (`10.0.0.0%2F8`). Devices, IPs and blocks are kept as lookup digests ' +
          'and sealed, never in the clear.',
        security: ADMIN,
        requestParams: blacklistParams,
        requestBody: { required: false, content: { 'application/json': { schema: blacklistBody } } },
        responses: { 200: json('The blacklist entry (its value in canonical form).', blacklistEntry), ...operatorErrors() },
      },
      delete: {
        tags,
        summary: 'Unblock a user, device, IP address or CIDR block',
        security: ADMIN,
        requestParams: blacklistParams,
        responses: { 204: { description: 'Removed (also when it was not blacklisted).' }, ...operatorErrors() },
      },
    },
  };
}
