// Generated from /openapi.json by `npm run console:api` (scripts/lib/console-api.ts): do not edit.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness of the backing services */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description PostgreSQL and Temporal answer. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            database: boolean;
                            temporal: boolean;
                        };
                    };
                };
                /** @description PostgreSQL or Temporal does not answer. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            database: boolean;
                            temporal: boolean;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Whether this instance should receive traffic */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Ready: PostgreSQL and Temporal answer, a worker polls the purchases task queue, and the process is not shutting down. The probe of a load balancer. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            ready: boolean;
                            /** @description the process is shutting down */
                            draining: boolean;
                            database: boolean;
                            temporal: boolean;
                            /** @description a worker polls the purchases task queue */
                            worker: boolean;
                        };
                    };
                };
                /** @description Not ready: draining before shutdown, a backing service does not answer, or no worker polls. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            ready: boolean;
                            /** @description the process is shutting down */
                            draining: boolean;
                            database: boolean;
                            temporal: boolean;
                            /** @description a worker polls the purchases task queue */
                            worker: boolean;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/games/{gameId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Create or update a game
         * @description Audited (who, when, before and after, never the secret; `X-Operator` names who, else `admin`); its channel policy applies to new orders within a second on every API process.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    gameId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["GameUpsert"];
                };
            };
            responses: {
                /** @description The game as stored, without its secret. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /**
                             * @description answers to the App Store's consumption requests (Send Consumption Information, before Apple decides a player's refund): OFF (the default) sends nothing; ON sends the order's delivery status, `sampleContentProvided`, the latest `consumptionPercentage` of its grant-log lines and the default `refundPreference` (GRANT_PRORATED only with a consumption percentage above 0) when the player consented: ALL (by the game's terms) or PER_ORDER (only for orders created with `consumptionDataConsent: true`)
                             * @example {
                             *       "answers": "ON",
                             *       "playerConsent": "ALL",
                             *       "sampleContentProvided": false,
                             *       "refundPreference": "DECLINE"
                             *     }
                             */
                            consumptionAnswers?: {
                                /** @enum {string} */
                                answers: "OFF" | "ON";
                                /**
                                 * @default ALL
                                 * @enum {string}
                                 */
                                playerConsent: "ALL" | "PER_ORDER";
                                /** @default false */
                                sampleContentProvided: boolean;
                                /** @enum {string} */
                                refundPreference?: "DECLINE" | "GRANT_FULL" | "GRANT_PRORATED";
                            };
                            gameId: string;
                            name: string;
                            deliveryUrl: string;
                            revokeUrl?: string;
                            requireDeliveryEcho: boolean;
                            delivery: {
                                /** @enum {string} */
                                mode: "HTTP" | "NATS" | "RABBITMQ";
                                ackTimeoutMs: number;
                            };
                            channelPolicy?: {
                                [key: string]: ("sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay")[];
                            };
                            timeZone: string;
                            dailyResetHour: number;
                            /** @enum {string} */
                            defaultAgeBand: "UNDER_8" | "8_TO_15" | "16_TO_17" | "ADULT";
                            /** Format: date-time */
                            updatedAt: string;
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/items/{sku}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Create or update an item and its prices
         * @description Prices are replaced as a whole. `stock` omitted: a new item is unlimited, an existing one keeps its current stock; `null` makes the item unlimited. A retired item is on sale again. Audited (`X-Operator` names who, else `admin`); every API process sees the change within a second. The price of an order: the first level with a price in force of channel type + region, region, channel type + "*", "*" (a price whose window contains now beats the windowless one); an order priced by a channel type's price is paid through that type only.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    sku: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ItemUpsert"];
                };
            };
            responses: {
                /** @description The item as stored. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            sku: string;
                            gameId: string;
                            name: string;
                            grants: {
                                itemId: string;
                                quantity: number;
                            }[];
                            /** @description units left to sell; null for unlimited */
                            stock: number | null;
                            prices: {
                                /** @description ISO 3166-1 alpha-2, or "*" for every other region */
                                region: string | "*";
                                currency: string;
                                /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                                amount: number;
                                /**
                                 * @description a channel type: the price of orders paid through that type (it wins over the plain price)
                                 * @enum {string}
                                 */
                                channel?: "sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay";
                                /**
                                 * Format: date-time
                                 * @description a scheduled price: in force from (inclusive)
                                 */
                                startsAt?: string;
                                /**
                                 * Format: date-time
                                 * @description a scheduled price: in force until (exclusive); while in force it wins over the windowless price
                                 */
                                endsAt?: string;
                            }[];
                            /**
                             * @description the item's product id in each store
                             * @example {
                             *       "appstore": "com.studio.game.gems60",
                             *       "googleplay": "gems_60"
                             *     }
                             */
                            storeProducts?: {
                                appstore?: string;
                                googleplay?: string;
                            };
                            /** @enum {string} */
                            kind: "CONSUMABLE" | "NON_CONSUMABLE" | "BUNDLE" | "MONTHLY_CARD";
                            /**
                             * @description a monthly card's terms (required for kind MONTHLY_CARD, refused for others)
                             * @example {
                             *       "days": 30,
                             *       "dailyGrants": [
                             *         {
                             *           "itemId": "gems",
                             *           "quantity": 100
                             *         }
                             *       ]
                             *     }
                             */
                            monthlyCard?: {
                                /** @description game days the card grants, counting the day of purchase */
                                days: number;
                                /** @description what each card day grants */
                                dailyGrants: {
                                    itemId: string;
                                    quantity: number;
                                }[];
                            };
                            saleWindow?: {
                                /**
                                 * Format: date-time
                                 * @description on sale from (inclusive, ISO 8601 UTC)
                                 */
                                startsAt?: string;
                                /**
                                 * Format: date-time
                                 * @description on sale until (exclusive, ISO 8601 UTC)
                                 */
                                endsAt?: string;
                            };
                            /**
                             * @description per-user limits in units
                             * @example {
                             *       "perUserDaily": 1,
                             *       "perUserLifetime": 3
                             *     }
                             */
                            limits?: {
                                /** @description units one user may buy per game day (the game's time zone and reset hour) */
                                perUserDaily?: number;
                                /** @description units one user may buy, ever (closed and refunded-before-delivery orders give theirs back) */
                                perUserLifetime?: number;
                                /** @description units one user's unpaid orders of the item may hold; more is refused 422 QUANTITY_NOT_ALLOWED until one is paid or closed (default maxPerOrder for limited stock; unlimited items: no cap unless set) */
                                maxPendingPerUser?: number;
                            };
                            maxPerOrder?: number;
                            /**
                             * @example {
                             *       "grants": [
                             *         {
                             *           "itemId": "gems",
                             *           "quantity": 60
                             *         }
                             *       ],
                             *       "group": "gem-packs"
                             *     }
                             */
                            firstPurchaseBonus?: {
                                /** @description granted once, with the user's first order of this sku (or of any sku of the group) */
                                grants: {
                                    itemId: string;
                                    quantity: number;
                                }[];
                                /** @description items of one group share one bonus per user */
                                group?: string;
                            };
                            tags: string[];
                            /**
                             * Format: date-time
                             * @description set once retired (DELETE): no new orders, not in the storefront
                             */
                            retiredAt?: string;
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `GAME_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "GAME_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `SKU_TAKEN`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "SKU_TAKEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        /**
         * Retire an item
         * @description No new orders, not in the storefront; its orders and history are kept. A later PUT puts it on sale again. Audited.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    sku: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Retired (also when it already was). */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ITEM_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ITEM_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/items": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List items
         * @description In sku order, retired items included (with `retiredAt`); page with `after` = the last sku of the previous page.
         */
        get: {
            parameters: {
                query?: {
                    gameId?: string;
                    kind?: "CONSUMABLE" | "NON_CONSUMABLE" | "BUNDLE" | "MONTHLY_CARD";
                    tag?: string;
                    /** @description the last sku of the previous page */
                    after?: string;
                    /** @description at most this many (default 100) */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The items, in the shape of the PUT answer. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ItemList"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/items/{sku}/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An item's changes
         * @description Every write of the item, oldest first: who (`X-Operator`), when, what it was before and after.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    sku: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The audit entries. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ItemAudit"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ITEM_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ITEM_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The operators' audit trail
         * @description Configuration changes (games, channel accounts, ...) and actions on orders, newest first. `actor` is the token's name (`ADMIN_TOKENS`), never a header; `operator` is the `X-Operator` it acted for. Admin role only.
         */
        get: {
            parameters: {
                query?: {
                    /** @description entries at or after this instant */
                    since?: string;
                    /** @description entries before this instant */
                    until?: string;
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Entries, newest first. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AuditTrail"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/risk/rules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The operators' risk rules */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every rule, enabled or not. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            rules: components["schemas"]["RiskRule"][];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/risk/rules/{ruleId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Create or replace a risk rule
         * @description Kinds and their params: docs/risk.md. An order hits a rule when, counted with it, a count exceeds `max` or an amount reaches the threshold; any DENY hit denies, else any REVIEW hit holds the paid order for review. Audited; every process applies it within a second.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RiskRuleUpsert"];
                };
            };
            responses: {
                /** @description The rule as stored. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["RiskRule"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `GAME_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "GAME_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        /** Remove a risk rule */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Removed (audited). */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `RULE_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "RULE_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/risk/minor-caps": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Minors' spending caps per region
         * @description The operators' caps and the built-in ones they do not replace (CN: under 8 nothing; 8–15 ¥50 a purchase, ¥200 a month; 16–17 ¥100 and ¥400).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every region with caps. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            caps: {
                                region: string;
                                currency: string;
                                bands: {
                                    [key: string]: {
                                        /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                                        perPurchase: number;
                                        /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                                        monthly: number;
                                    };
                                };
                                /** @description the built-in caps (no operator set this region) */
                                builtIn: boolean;
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/risk/minor-caps/{region}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Set a region's minors' spending caps
         * @description Per minor band, what one purchase may cost and what a calendar month (the game's time zone) of pending and paid orders may add up to, in minor units of `currency`. Replaces the built-in caps of the region; audited.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description ISO 3166-1 alpha-2 region */
                    region: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["MinorCaps"];
                };
            };
            responses: {
                /** @description The caps as stored. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            region: string;
                            currency: string;
                            bands: {
                                [key: string]: {
                                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                                    perPurchase: number;
                                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                                    monthly: number;
                                };
                            };
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/risk/aml-reports": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Orders an AML rule hit
         * @description One row per AML_SINGLE or AML_DAILY hit of an order decided in [from, to) (at most 366 days): the order, its amount, the rule, risk's decision and the operator's decision on a review. `format=csv` answers the same rows as CSV.
         */
        get: {
            parameters: {
                query: {
                    /** @description ISO 8601 instant, included */
                    from: string;
                    /** @description ISO 8601 instant, left out; at most 366 days after `from` */
                    to: string;
                    format?: "json" | "csv";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The report. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            reports: {
                                orderId: string;
                                gameId: string;
                                userId: string;
                                amount: {
                                    currency: string;
                                    value: number;
                                };
                                ruleId: string;
                                /** @enum {string} */
                                kind: "AML_SINGLE" | "AML_DAILY";
                                /** @enum {string} */
                                decision: "ALLOW" | "REVIEW" | "DENY";
                                /** @enum {string} */
                                operatorDecision?: "APPROVE" | "DENY";
                                /** Format: date-time */
                                decidedAt: string;
                            }[];
                        };
                        "text/csv": string;
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Cannot be served as asked: `RANGE_TOO_LONG`. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "RANGE_TOO_LONG";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/risk/blacklist": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The blacklist
         * @description Expired entries are listed until removed; they deny no more.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every entry. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            entries: {
                                /**
                                 * @example USER
                                 * @enum {string}
                                 */
                                kind: "USER" | "DEVICE" | "IP" | "CIDR";
                                value: string;
                                reason?: string;
                                /** Format: date-time */
                                expiresAt?: string;
                                /** Format: date-time */
                                createdAt: string;
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/risk/blacklist/{kind}/{value}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Block a user, device, IP address or CIDR block
         * @description A CIDR block has its slash URL-encoded (`10.0.0.0%2F8`). Devices, IPs and blocks are kept as lookup digests and sealed, never in the clear.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    kind: "USER" | "DEVICE" | "IP" | "CIDR";
                    value: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": components["schemas"]["BlacklistEntryUpsert"];
                };
            };
            responses: {
                /** @description The blacklist entry (its value in canonical form). */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BlacklistEntry"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        /** Unblock a user, device, IP address or CIDR block */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    kind: "USER" | "DEVICE" | "IP" | "CIDR";
                    value: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Removed (also when it was not blacklisted). */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/channels": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the channel accounts (never their credentials) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every configured account. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            channels: components["schemas"]["ChannelAccount"][];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/channels/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Each channel account's circuit breaker, recent calls and create latency
         * @description Read from the state every API and worker process shares (PostgreSQL, or Redis when `REDIS_URL` is set). A breaker opens when technical failures (errors, timeouts; not refusals or declines) reach `CHANNEL_BREAKER_FAILURE_RATE` of at least `CHANNEL_BREAKER_MIN_CALLS` calls in `CHANNEL_BREAKER_WINDOW_MS`, or after `CHANNEL_BREAKER_CONSECUTIVE_FAILURES` in a row; after `CHANNEL_BREAKER_COOLDOWN_MS` it lets `CHANNEL_BREAKER_HALF_OPEN_PROBES` orders probe it, and closes on a success.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every configured or recently called account. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ChannelHealth"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/channels/{channelId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Create or change a channel account
         * @description Applies to new orders within a second on every API and worker process, without a restart, and is audited (who, when, before and after, without credentials; `X-Operator` names who, else `admin`).
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description the channel account: orders name it as `channel`, its notifications arrive at /v1/callbacks/{channelId} */
                    channelId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ChannelAccountUpsert"];
                };
            };
            responses: {
                /** @description The account, without its credentials. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ChannelAccount"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orders": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an order and its payment
         * @description Idempotent by `Idempotency-Key`: the same key and body again, also concurrently, answers the same order; once the order has finished, a retry answers its current status. Retry a `503` with the same key. `422 QUANTITY_NOT_ALLOWED`: more than one unit of a non-consumable or card, more than `maxPerOrder`, or the user's unpaid orders of the item already hold its `limits.maxPendingPerUser` units (`details: { maxPendingPerUser, pending, quantity, orderId }`; pay or cancel one first).
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description the game server's id for this purchase: a retry with the same key and body answers the same order */
                    "Idempotency-Key": string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateOrder"];
                };
            };
            responses: {
                /** @description Awaiting payment: send the payer to `payment.payUrl` before `expiresAt`. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CreatedOrder"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `RISK_REJECTED`, `MINOR_SPENDING_LIMIT`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "RISK_REJECTED" | "MINOR_SPENDING_LIMIT";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ITEM_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ITEM_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `IDEMPOTENCY_CONFLICT`, `OUT_OF_STOCK`, `PURCHASE_LIMIT_REACHED`, `ALREADY_OWNED`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "IDEMPOTENCY_CONFLICT" | "OUT_OF_STOCK" | "PURCHASE_LIMIT_REACHED" | "ALREADY_OWNED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Cannot be served as asked: `NOT_ON_SALE`, `QUANTITY_NOT_ALLOWED`, `NO_PRICE_FOR_REGION`, `CHANNEL_NOT_AVAILABLE`, `AMOUNT_TOO_LARGE`, `INVALID_ORDER_DATA`. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "NOT_ON_SALE" | "QUANTITY_NOT_ALLOWED" | "NO_PRICE_FOR_REGION" | "CHANNEL_NOT_AVAILABLE" | "AMOUNT_TOO_LARGE" | "INVALID_ORDER_DATA";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The payment channel could not open the payment: the order is closed (a new Idempotency-Key starts again): `CHANNEL_UNAVAILABLE`. */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "CHANNEL_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orders/{orderId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read one of this game's orders */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The order and its status history. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Order"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orders/{orderId}/receipts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Submit a store's proof of purchase (App Store, Google Play)
         * @description The game server forwards what the store gave the game client: an App Store signed transaction, or a Google Play purchase token and product. It is verified with the store (bundle or package, environment, this order as the app account token or obfuscated profile id), claimed for this order only, and pays the order as the channel's notification would; the answer is the order once it moved on (usually DELIVERED). A purchase of another product than the item's is the order's money but is never delivered: the order goes to MANUAL_REVIEW (reason PRODUCT_MISMATCH) for an operator to resolve. Submitting it again answers the same; a notification of the same purchase has no second effect. RECEIPT_PRODUCT_MISMATCH: Google says the token bought another product than the receipt names.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["StoreReceipt"];
                };
            };
            responses: {
                /** @description The order. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Order"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `RECEIPT_ALREADY_USED`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "RECEIPT_ALREADY_USED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Cannot be served as asked: `INVALID_RECEIPT`, `RECEIPT_PRODUCT_MISMATCH`, `RECEIPTS_NOT_SUPPORTED`. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INVALID_RECEIPT" | "RECEIPT_PRODUCT_MISMATCH" | "RECEIPTS_NOT_SUPPORTED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orders/{orderId}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel an unpaid order
         * @description Idempotent: cancelling a `CLOSED` order answers it again.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The order, `CLOSED`. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Order"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `ORDER_NOT_CANCELLABLE`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_CANCELLABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/callbacks/{channel}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Payment result notification from a channel
         * @description Each channel sends its own format and signature; the body and headers shown are the sandbox channel's. A verified notification is recorded first (also for an unknown order, kept for reconciliation), then handed to the order's workflow, then acknowledged in the channel's format. Until it is acknowledged the channel retries, so a `5xx` loses nothing.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Sandbox channel only: unix seconds, at most 300 s from our clock. */
                    "Sandbox-Timestamp"?: string;
                    /** @description Sandbox channel only: base64 RSA-SHA256 (PKCS#1 v1.5) with the sandbox key over `timestamp + "\n" + raw body + "\n"`. */
                    "Sandbox-Signature"?: string;
                };
                path: {
                    channel: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["SandboxNotification"];
                };
            };
            responses: {
                /** @description Recorded and handed over; the sandbox channel's acknowledgement is `SUCCESS`. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": "SUCCESS";
                    };
                };
                /** @description The request is invalid: `MALFORMED_NOTIFICATION`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "MALFORMED_NOTIFICATION";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `INVALID_SIGNATURE`, `STALE_NOTIFICATION`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INVALID_SIGNATURE" | "STALE_NOTIFICATION";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `WRONG_MERCHANT`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "WRONG_MERCHANT";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `CHANNEL_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "CHANNEL_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/orders": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Find orders: deliveries stuck for ten minutes, or any order by id, user, payment or trade number
         * @description With only `status`, `gameId` and `olderThanSeconds`: least recently changed first. With `q`, `userId`, `channel`, `from`, `to` or `after` (the console's search): newest first, keyset paged by `next`.
         */
        get: {
            parameters: {
                query?: {
                    status?: "PENDING_PAYMENT" | "PAID" | "DELIVERING" | "DELIVERED" | "CLOSED" | "REJECTED" | "REFUNDED" | "MANUAL_REVIEW" | "CHARGED_BACK" | "RISK_REVIEW";
                    /** @description only orders unchanged for at least this long */
                    olderThanSeconds?: number;
                    gameId?: string;
                    /** @description `updated`: least recently changed first (the default); `newest`: newest first, keyset paged (the default with any search filter) */
                    sort?: "updated" | "newest";
                    /** @description an order id, user id, channel payment id or trade number: the orders it names, newest first */
                    q?: string;
                    userId?: string;
                    /** @description the channel account */
                    channel?: string;
                    /** @description created at or after */
                    from?: string;
                    /** @description created before */
                    to?: string;
                    /** @description keyset paging: the `next` of the previous page (newest-first listings) */
                    after?: string;
                    limit?: number;
                };
                header?: {
                    /** @description who asks (optional on reads) */
                    "X-Operator"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The matching orders. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            orders: components["schemas"]["OpsOrderSummary"][];
                            /** @description pass as `after` for the next page (newest-first listings) */
                            next?: string;
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/orders/{orderId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An order's whole story
         * @description The order, its timeline (created, routing, payment attempts, notifications, payment results, statuses, delivery, refund, revocation, operators' actions; oldest first), its ledger entries, its reconciliation differences and, when a rule applied to it, what risk decided (`risk`: decision, hits with their figures, the operator's review decision).
         */
        get: {
            parameters: {
                query?: never;
                header?: {
                    /** @description who asks (optional on reads) */
                    "X-Operator"?: string;
                };
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The order page. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["OpsOrderStory"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/stuck": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Workflows whose activities keep failing
         * @description Every activity attempt that fails is recorded and cleared when the activity succeeds: this lists the ones failing for longer than `olderThanSeconds`, longest first, with the last error. A payment step retried for a long time (a channel or the game server down, a defect) shows here before anyone complains.
         */
        get: {
            parameters: {
                query?: {
                    /** @description only activities failing for at least this long (default 5 minutes) */
                    olderThanSeconds?: number;
                    limit?: number;
                };
                header?: {
                    /** @description who asks (optional on reads) */
                    "X-Operator"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The failing activities. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            stuck: {
                                /** @description the Temporal workflow (`temporal workflow show --workflow-id …`) */
                                workflowId: string;
                                /**
                                 * Format: uuid
                                 * @description the order, for purchase workflows
                                 */
                                orderId?: string;
                                /** @example deliverOrder */
                                activity: string;
                                attempts: number;
                                /** Format: date-time */
                                failingSince: string;
                                /** Format: date-time */
                                lastFailedAt: string;
                                lastError: string;
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/orders/{orderId}/retry-delivery": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry a delivery now
         * @description For a `DELIVERING` order: restarts the delivery backoff (within the delivery deadline). Audited with the operator, whether the order's workflow accepts it or not.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description who acts, for the audit trail */
                    "X-Operator": string;
                };
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["OpsAction"];
                };
            };
            responses: {
                /** @description The order's workflow accepted the action; the order as it is now. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            accepted: true;
                            order: components["schemas"]["Order"];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `OPS_ACTION_NOT_ALLOWED`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "OPS_ACTION_NOT_ALLOWED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/orders/{orderId}/refund": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Refund an order
         * @description For a `DELIVERING` or `MANUAL_REVIEW` order: stops delivering and refunds, unless the game server already took the goods. For a `DELIVERED` order (customer service): the money goes back through the channel and, unless `revoke` is false, the game is told to take the goods back (`revokeUrl`). `422 REFUND_NOT_SUPPORTED`: the channel cannot return money through its API (App Store: only Apple refunds, at the player's request; its refund notification then ends the order). Audited with the operator, whether the order's workflow accepts it or not.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description who acts, for the audit trail */
                    "X-Operator": string;
                };
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["OpsRefund"];
                };
            };
            responses: {
                /** @description The order's workflow accepted the action; the order as it is now. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            accepted: true;
                            order: components["schemas"]["Order"];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `OPS_ACTION_NOT_ALLOWED`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "OPS_ACTION_NOT_ALLOWED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Cannot be served as asked: `REFUND_NOT_SUPPORTED`. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "REFUND_NOT_SUPPORTED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/revocations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Goods games were told (or must be told) to take back
         * @description One revocation per refunded or charged-back delivered order. `NO_REVOKE_URL`: the game has no `revokeUrl`, a person must take the goods back.
         */
        get: {
            parameters: {
                query?: {
                    status?: "PENDING" | "REVOKED" | "NO_REVOKE_URL";
                    limit?: number;
                };
                header?: {
                    /** @description who asks (optional on reads) */
                    "X-Operator"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The revocations, oldest first. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            revocations: {
                                revocationId: string;
                                /** Format: uuid */
                                orderId: string;
                                /** @enum {string} */
                                reason: "REFUND" | "CHARGEBACK" | "REVOKED";
                                /** @enum {string} */
                                status: "PENDING" | "REVOKED" | "NO_REVOKE_URL";
                                attempts: number;
                                lastError?: string;
                                /** Format: date-time */
                                createdAt: string;
                                /** Format: date-time */
                                revokedAt?: string;
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/orders/{orderId}/close": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Close an unpaid order
         * @description For a `PENDING_PAYMENT` order: closes its channel payment and the order (`CLOSED`), through its workflow as the game's own cancel does; a payment that still arrives is refunded (`LATE_PAYMENT`). Audited with the operator, whether the order's workflow accepts it or not.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description who acts, for the audit trail */
                    "X-Operator": string;
                };
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["OpsAction"];
                };
            };
            responses: {
                /** @description The order's workflow accepted the action; the order as it is now. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            accepted: true;
                            order: components["schemas"]["Order"];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `OPS_ACTION_NOT_ALLOWED`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "OPS_ACTION_NOT_ALLOWED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/store-sweeps": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Store sweeps: the notifications the stores sent that we never took, recovered
         * @description Per run of a store account's sweep (Apple's Notification History, Google's voided purchases): the window, pages, items seen, known (taken before), recovered (by kind) and failed, with the error of a failed run; per recovered item the order, kind, dedupe key, the store's first try and our recovery time. Newest first.
         */
        get: {
            parameters: {
                query?: {
                    /** @description one store account */
                    channel?: string;
                    /** @description runs started at or after (default: 7 days ago) */
                    from?: string;
                    /** @description runs started before (default: now) */
                    to?: string;
                    limit?: number;
                };
                header?: {
                    /** @description who asks (optional on reads) */
                    "X-Operator"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The runs. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            sweeps: {
                                /** Format: uuid */
                                sweepId: string;
                                channel: string;
                                /** @enum {string} */
                                pass: "FAILURES" | "ALL" | "VOIDED";
                                /** Format: date-time */
                                windowStart: string;
                                /** Format: date-time */
                                windowEnd: string;
                                /** @enum {string} */
                                status: "RUNNING" | "COMPLETED" | "FAILED";
                                pages: number;
                                items: {
                                    seen: number;
                                    known: number;
                                    recovered: number;
                                    failed: number;
                                };
                                recoveredByKind: {
                                    [key: string]: number;
                                };
                                error?: string;
                                /** Format: date-time */
                                startedAt: string;
                                /** Format: date-time */
                                finishedAt?: string;
                                recoveries: {
                                    /** Format: uuid */
                                    orderId?: string;
                                    kind: string;
                                    dedupeKey: string;
                                    /**
                                     * Format: date-time
                                     * @description the store's first try (Apple's first attemptDate, Google's voidedTimeMillis)
                                     */
                                    firstTriedAt?: string;
                                    /** Format: date-time */
                                    recoveredAt: string;
                                    /** @description what a person should know of it, e.g. a Google Play purchase refunded as never acknowledged (voidedReason 8) for an order never seen paid: its purchase notification was lost */
                                    notice?: string;
                                }[];
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`, `INVALID_RANGE`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR" | "INVALID_RANGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/orders/{orderId}/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Decide an order in manual review
         * @description `DELIVER` a `MANUAL_REVIEW` order as paid, or `REFUND` it (also a `DELIVERING` one). Audited with the operator, whether the order's workflow accepts it or not.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description who acts, for the audit trail */
                    "X-Operator": string;
                };
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["OpsResolve"];
                };
            };
            responses: {
                /** @description The order's workflow accepted the action; the order as it is now. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            accepted: true;
                            order: components["schemas"]["Order"];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `OPS_ACTION_NOT_ALLOWED`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "OPS_ACTION_NOT_ALLOWED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ops/orders/{orderId}/risk-decision": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Decide an order held for risk review
         * @description `APPROVE` a `RISK_REVIEW` order (it is delivered) or `DENY` it (refunded, `RISK_DENIED`). Undecided within `RISK_REVIEW_TIMEOUT_MS` (24 h) it is refunded (`RISK_REVIEW_TIMEOUT`). Audited with the operator, whether the order's workflow accepts it or not.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description who acts, for the audit trail */
                    "X-Operator": string;
                };
                path: {
                    orderId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RiskReviewDecision"];
                };
            };
            responses: {
                /** @description The order's workflow accepted the action; the order as it is now. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            accepted: true;
                            order: components["schemas"]["Order"];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `ORDER_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "ORDER_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `OPS_ACTION_NOT_ALLOWED`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "OPS_ACTION_NOT_ALLOWED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/console/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Who is signed in */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The signed-in operator, role and permissions. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ConsoleSession"];
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /**
         * Sign in to the console
         * @description Exchanges the admin token for a sign-in cookie (`HttpOnly`, `SameSite=Strict`, `CONSOLE_LOGIN_TTL`). With the cookie, `/v1/ops`, `/v1/finance` and `/v1/admin` answer as with the bearer token, `X-Operator` being the name given here; their state-changing calls must come from the same origin (`403 FORBIDDEN`).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ConsoleSignIn"];
                };
            };
            responses: {
                /** @description Signed in; the cookie is set. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ConsoleSession"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        /**
         * Sign out
         * @description Ends the session at once and clears the cookie.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Signed out. */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/games/grant-logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send the game's own log of granted deliveries (three-way reconciliation)
         * @description Up to 400 grants per call, as many calls as the day needs; sending a grant again changes nothing (one per `deliveryId`). The daily reconciliation then reports deliveries of that day the log lacks (`PAID_NOT_GRANTED`) and grants of orders not paid and delivered (`GRANTED_NOT_PAID`). A day with an empty batch counts as sent: every delivery of it is expected in the log.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["GrantLog"];
                };
            };
            responses: {
                /** @description What was recorded. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            date: string;
                            received: number;
                            /** @description grants new to us (the others were sent before: kept as first sent, only a consumptionPercentage is taken again) */
                            recorded: number;
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/monthly-cards": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A player's monthly cards
         * @description Running cards and those ended in the last 30 days. A delivered `MONTHLY_CARD` order grants its `grants` at once, then its `dailyGrants` on each game day (the game's `timeZone` and `dailyResetHour`), day 1 at once, `days` in all; buying again while the card runs adds its days at the end. Each day is a delivery of its own (`kind: "MONTHLY_CARD_DAILY"`, see the `monthlyCardDay` webhook).
         */
        get: {
            parameters: {
                query: {
                    /** @description the player whose cards to list (the game's own user id) */
                    userId: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The player's cards. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MonthlyCards"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/storefront": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * What a player can buy now
         * @description The game's items on sale now (not retired, inside their sale window) that have a price for the region, in sku order, each at the price an order made now would pay: the channel type (the named account's, the named type, or the one type the game's channel policy allows for the platform) and the region decide it exactly as for `POST /v1/orders`. A sold-out item is listed with `stockRemaining: 0`. The player's figures (limits left, ownership, the first-purchase bonus) and the stock are read live; the items themselves at most `CATALOGUE_CACHE_MS` old (an item write drops them on every API process within a second).
         */
        get: {
            parameters: {
                query: {
                    /** @description the player the storefront is for (the game's own user id) */
                    userId: string;
                    /** @description where the player buys: prices resolve for this region (or the "*" price) */
                    region: string;
                    /** @description the player's platform: with the game's channel policy it may decide the channel type, and so the price */
                    platform?: "ios" | "android" | "web" | "pc";
                    /** @description a channel account or channel type the player pays through: its type's prices apply (as for POST /v1/orders) */
                    channel?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The player's storefront. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Storefront"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/deliveries/{deliveryId}/ack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Acknowledge a delivery taken from NATS or RabbitMQ: GRANTED or REJECTED
         * @description For games in delivery mode NATS or RABBITMQ (an HTTP delivery is acknowledged by the answer to its POST). The first ack is recorded, then the order moves: GRANTED → `DELIVERED`, REJECTED → refunded (`REFUNDED`, `DELIVERY_REJECTED`). The same ack again answers the same; without an ack within the game's `ackTimeoutMs` the message is published again (same `deliveryId`). Ack over REST first, then ack the broker message. A `503` means the ack is recorded but the order could not be told yet: send it again.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description the `deliveryId` of the message */
                    deliveryId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["DeliveryAck"];
                };
            };
            responses: {
                /** @description Recorded (or recorded before with this result). */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["DeliveryAckAnswer"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `DELIVERY_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "DELIVERY_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `DELIVERY_ALREADY_ACKNOWLEDGED`, `DELIVERY_CLOSED`, `DELIVERY_NOT_AWAITING_ACK`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "DELIVERY_ALREADY_ACKNOWLEDGED" | "DELIVERY_CLOSED" | "DELIVERY_NOT_AWAITING_ACK";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/revocations/{revocationId}/ack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Acknowledge a revocation taken from NATS or RabbitMQ: the goods are taken back
         * @description For games in delivery mode NATS or RABBITMQ, whose revocations (refunds, chargebacks, store revocations of delivered orders) come as messages on `payments.revocations.<gameId>` (NATS) or the exchange `payments.revocations` (RabbitMQ) instead of a POST to the revokeUrl. The first ack records the revocation `REVOKED`; the same ack again answers the same. Without an ack within the game's `ackTimeoutMs` the message is published again (same `revocationId`) until the delivery deadline; a later ack is still recorded. Ack over REST first, then ack the broker message. A `503` means the ack is recorded but the order could not be told yet: send it again.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description the `revocationId` of the message */
                    revocationId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RevocationAck"];
                };
            };
            responses: {
                /** @description Recorded (or recorded before). */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["RevocationAckAnswer"];
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `REVOCATION_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "REVOCATION_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `REVOCATION_NOT_AWAITING_ACK`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "REVOCATION_NOT_AWAITING_ACK";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/ledger/trial-balance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Trial balance: every account, its debits, credits and balance
         * @description From the double-entry journal (immutable, balanced entries, one per business event). Per currency, the debits of all accounts equal their credits.
         */
        get: {
            parameters: {
                query?: {
                    currency?: string;
                    /** @description entries effective up to this instant (default: all) */
                    at?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The accounts and the totals per currency. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            currency?: string;
                            at?: string;
                            accounts: {
                                account: string;
                                currency: string;
                                /** @description minor units */
                                debits: number;
                                /** @description minor units */
                                credits: number;
                                /** @description debits − credits */
                                balance: number;
                            }[];
                            /** @description per currency: debits always equal credits */
                            totals: {
                                currency: string;
                                /** @description minor units */
                                debits: number;
                                /** @description minor units */
                                credits: number;
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/ledger/accounts/{account}/entries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The entries of one account, oldest first (paged) */
        get: {
            parameters: {
                query?: {
                    from?: string;
                    to?: string;
                    after?: string;
                    limit?: number;
                };
                header?: never;
                path: {
                    account: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of entries with all their postings. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            account: string;
                            entries: {
                                id: string;
                                eventId: string;
                                /** @enum {string} */
                                kind: "PAYMENT_CAPTURED" | "PAYMENT_HELD" | "REVIEW_RELEASED" | "GOODS_DELIVERED" | "LATE_PAYMENT_RECEIVED" | "REFUND" | "CHANNEL_REFUND" | "CHARGEBACK" | "CHANNEL_FEE" | "SETTLEMENT" | "RECON_ADJUSTMENT";
                                orderId?: string;
                                reference?: string;
                                memo?: string;
                                /** Format: date-time */
                                effectiveAt: string;
                                /** Format: date-time */
                                recordedAt: string;
                                currency: string;
                                /** @description this account's posting: debit > 0, credit < 0 */
                                amount: number;
                                postings: {
                                    account: string;
                                    currency: string;
                                    /** @description debit > 0, credit < 0 */
                                    amount: number;
                                }[];
                            }[];
                            page: {
                                nextAfter?: string;
                            };
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/reconciliations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Reconciliation runs, newest first */
        get: {
            parameters: {
                query?: {
                    channel?: string;
                    date?: string;
                    /** @description statement days from (inclusive) */
                    from?: string;
                    /** @description statement days to (inclusive) */
                    to?: string;
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The runs. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            runs: {
                                id: string;
                                channel: string;
                                date: string;
                                /** @enum {string} */
                                status: "RUNNING" | "COMPLETED" | "FAILED";
                                /** @enum {string} */
                                trigger: "SCHEDULE" | "API";
                                requestedBy?: string;
                                timeZone: string;
                                /** @description a later run of the same day stands instead (this one is history) */
                                superseded: boolean;
                                supersededBy?: string;
                                progress: {
                                    rowsRead: number;
                                    rowsMatched: number;
                                };
                                summary?: {
                                    statementRows: number;
                                    platformRows: number;
                                    matched: number;
                                    /** @description by kind */
                                    differences: {
                                        [key: string]: number;
                                    };
                                    /** @description by resolution */
                                    resolutions: {
                                        [key: string]: number;
                                    };
                                };
                                error?: string;
                                /** Format: date-time */
                                createdAt: string;
                                /** Format: date-time */
                                startedAt?: string;
                                /** Format: date-time */
                                finishedAt?: string;
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /**
         * Reconcile (again) a channel account's statement days
         * @description One run per day, in date order; a run of a day supersedes the day's earlier result and keeps it as history. Follow a run with `GET /v1/finance/reconciliations/{runId}`. `X-Operator` (optional) is recorded.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description who asked, for the record */
                    "X-Operator"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ReconciliationRequest"];
                };
            };
            responses: {
                /** @description The runs, started. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            runs: {
                                id: string;
                                channel: string;
                                date: string;
                                /** @enum {string} */
                                status: "RUNNING" | "COMPLETED" | "FAILED";
                            }[];
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `CHANNEL_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "CHANNEL_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Cannot be served as asked: `STATEMENT_UNSUPPORTED`, `DATE_IN_FUTURE`, `RANGE_TOO_LONG`. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "STATEMENT_UNSUPPORTED" | "DATE_IN_FUTURE" | "RANGE_TOO_LONG";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/reconciliations/{runId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One run: progress, summary and its differences (paged) */
        get: {
            parameters: {
                query?: {
                    kind?: "MISSING_IN_PLATFORM" | "MISSING_IN_CHANNEL" | "AMOUNT_MISMATCH" | "STATUS_MISMATCH" | "FEE_MISMATCH" | "CROSS_DAY" | "PAID_NOT_GRANTED" | "GRANTED_NOT_PAID";
                    resolution?: "AUTO_REPAIRED" | "OPEN" | "HELD_CROSS_DAY" | "RESOLVED";
                    after?: string;
                    limit?: number;
                };
                header?: never;
                path: {
                    runId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The run. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            channel: string;
                            date: string;
                            /** @enum {string} */
                            status: "RUNNING" | "COMPLETED" | "FAILED";
                            /** @enum {string} */
                            trigger: "SCHEDULE" | "API";
                            requestedBy?: string;
                            timeZone: string;
                            /** @description a later run of the same day stands instead (this one is history) */
                            superseded: boolean;
                            supersededBy?: string;
                            progress: {
                                rowsRead: number;
                                rowsMatched: number;
                            };
                            summary?: {
                                statementRows: number;
                                platformRows: number;
                                matched: number;
                                /** @description by kind */
                                differences: {
                                    [key: string]: number;
                                };
                                /** @description by resolution */
                                resolutions: {
                                    [key: string]: number;
                                };
                            };
                            error?: string;
                            /** Format: date-time */
                            createdAt: string;
                            /** Format: date-time */
                            startedAt?: string;
                            /** Format: date-time */
                            finishedAt?: string;
                            differences: {
                                id: string;
                                runId: string;
                                /** @enum {string} */
                                kind: "MISSING_IN_PLATFORM" | "MISSING_IN_CHANNEL" | "AMOUNT_MISMATCH" | "STATUS_MISMATCH" | "FEE_MISMATCH" | "CROSS_DAY" | "PAID_NOT_GRANTED" | "GRANTED_NOT_PAID";
                                reason: string;
                                /** @enum {string} */
                                resolution: "AUTO_REPAIRED" | "OPEN" | "HELD_CROSS_DAY" | "RESOLVED";
                                /** @description a person may resolve it now (open, or held for the next day) */
                                resolvable: boolean;
                                /** @enum {string} */
                                side: "PAYMENT" | "REFUND" | "GRANT";
                                channelTradeNo?: string;
                                orderId?: string;
                                refundId?: string;
                                /** @description our books (FEE_MISMATCH: the contracted fee) */
                                ours?: {
                                    currency: string;
                                    /** @description minor units */
                                    value: number;
                                };
                                /** @description the channel's statement */
                                theirs?: {
                                    currency: string;
                                    /** @description minor units */
                                    value: number;
                                };
                                detail?: string;
                                /** @description what the run did about it by itself */
                                repair?: string;
                                note?: string;
                                resolvedBy?: string;
                                /** Format: date-time */
                                resolvedAt?: string;
                                /** @description the next day's run that settled a held difference */
                                recheckedBy?: string;
                            }[];
                            page: {
                                nextAfter?: string;
                            };
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `RUN_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "RUN_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/differences": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Differences across runs: by channel account, statement days, kind and resolution (paged)
         * @description Those of each day's standing run (a superseded run's differences are history), oldest first.
         */
        get: {
            parameters: {
                query?: {
                    channel?: string;
                    /** @description statement days from (inclusive) */
                    from?: string;
                    /** @description statement days to (inclusive) */
                    to?: string;
                    kind?: "MISSING_IN_PLATFORM" | "MISSING_IN_CHANNEL" | "AMOUNT_MISMATCH" | "STATUS_MISMATCH" | "FEE_MISMATCH" | "CROSS_DAY" | "PAID_NOT_GRANTED" | "GRANTED_NOT_PAID";
                    resolution?: "AUTO_REPAIRED" | "OPEN" | "HELD_CROSS_DAY" | "RESOLVED";
                    after?: string;
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of differences with their run's account and day. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            differences: {
                                id: string;
                                runId: string;
                                /** @enum {string} */
                                kind: "MISSING_IN_PLATFORM" | "MISSING_IN_CHANNEL" | "AMOUNT_MISMATCH" | "STATUS_MISMATCH" | "FEE_MISMATCH" | "CROSS_DAY" | "PAID_NOT_GRANTED" | "GRANTED_NOT_PAID";
                                reason: string;
                                /** @enum {string} */
                                resolution: "AUTO_REPAIRED" | "OPEN" | "HELD_CROSS_DAY" | "RESOLVED";
                                /** @description a person may resolve it now (open, or held for the next day) */
                                resolvable: boolean;
                                /** @enum {string} */
                                side: "PAYMENT" | "REFUND" | "GRANT";
                                channelTradeNo?: string;
                                orderId?: string;
                                refundId?: string;
                                /** @description our books (FEE_MISMATCH: the contracted fee) */
                                ours?: {
                                    currency: string;
                                    /** @description minor units */
                                    value: number;
                                };
                                /** @description the channel's statement */
                                theirs?: {
                                    currency: string;
                                    /** @description minor units */
                                    value: number;
                                };
                                detail?: string;
                                /** @description what the run did about it by itself */
                                repair?: string;
                                note?: string;
                                resolvedBy?: string;
                                /** Format: date-time */
                                resolvedAt?: string;
                                /** @description the next day's run that settled a held difference */
                                recheckedBy?: string;
                                channel: string;
                                /** @description the statement day of its run */
                                date: string;
                            }[];
                            page: {
                                nextAfter?: string;
                            };
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/differences/{differenceId}/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Resolve an open (or held) difference
         * @description Recorded with `X-Operator` and the note. The same resolution again answers the same.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description who acts, for the record */
                    "X-Operator": string;
                };
                path: {
                    differenceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ResolveDifference"];
                };
            };
            responses: {
                /** @description The difference, resolved. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            runId: string;
                            /** @enum {string} */
                            kind: "MISSING_IN_PLATFORM" | "MISSING_IN_CHANNEL" | "AMOUNT_MISMATCH" | "STATUS_MISMATCH" | "FEE_MISMATCH" | "CROSS_DAY" | "PAID_NOT_GRANTED" | "GRANTED_NOT_PAID";
                            reason: string;
                            /** @enum {string} */
                            resolution: "AUTO_REPAIRED" | "OPEN" | "HELD_CROSS_DAY" | "RESOLVED";
                            /** @description a person may resolve it now (open, or held for the next day) */
                            resolvable: boolean;
                            /** @enum {string} */
                            side: "PAYMENT" | "REFUND" | "GRANT";
                            channelTradeNo?: string;
                            orderId?: string;
                            refundId?: string;
                            /** @description our books (FEE_MISMATCH: the contracted fee) */
                            ours?: {
                                currency: string;
                                /** @description minor units */
                                value: number;
                            };
                            /** @description the channel's statement */
                            theirs?: {
                                currency: string;
                                /** @description minor units */
                                value: number;
                            };
                            detail?: string;
                            /** @description what the run did about it by itself */
                            repair?: string;
                            note?: string;
                            resolvedBy?: string;
                            /** Format: date-time */
                            resolvedAt?: string;
                            /** @description the next day's run that settled a held difference */
                            recheckedBy?: string;
                        };
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not found: `DIFFERENCE_NOT_FOUND`. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "DIFFERENCE_NOT_FOUND";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Conflicts with the current state: `DIFFERENCE_NOT_OPEN`. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "DIFFERENCE_NOT_OPEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/reports/revenue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Revenue per day or month, by game, channel account, region and currency
         * @description Served from the aggregates each day's reconciliation rolls up (a day appears once its run completed: T+1). Amounts are never added across currencies. `format=csv` answers the same rows as CSV.
         */
        get: {
            parameters: {
                query: {
                    /** @description a date (YYYY-MM-DD: a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime; a date `to` includes its day, a datetime `to` is the first instant left out */
                    from: string;
                    /** @description a date (YYYY-MM-DD: a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime; a date `to` includes its day, a datetime `to` is the first instant left out */
                    to: string;
                    groupBy?: "day" | "month";
                    /** @description comma-separated: game, channel, region, currency (amounts are always per currency) */
                    by?: string;
                    format?: "json" | "csv";
                    /** @description only this game */
                    game?: string;
                    /** @description only this channel account */
                    channel?: string;
                    /** @description only this currency */
                    currency?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The report. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            from: string;
                            to: string;
                            /**
                             * @description the business days are days of this zone (`RECON_TIME_ZONE`)
                             * @example Asia/Shanghai
                             */
                            timeZone: string;
                            /** @enum {string} */
                            groupBy: "day" | "month";
                            by: string[];
                            rows: {
                                /** @description YYYY-MM-DD or YYYY-MM */
                                period: string;
                                game?: string;
                                channel?: string;
                                region?: string;
                                currency: string;
                                ordersPaid: number;
                                /** @description what payers paid */
                                paid: number;
                                delivered: number;
                                /** @description earned: paid and delivered */
                                revenue: number;
                                refunds: number;
                                /** @description minor units */
                                refunded: number;
                                chargebacks: number;
                                /** @description minor units */
                                chargedBack: number;
                            }[];
                            /** @description days of the range each channel account is rolled up for (a day appears once its reconciliation ran) */
                            coverage: {
                                channel: string;
                                days: number;
                            }[];
                            /** @description days of the range no channel account is rolled up for yet: their figures are missing, not zero */
                            notRolledUp: string[];
                        };
                        "text/csv": string;
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Cannot be served as asked: `RANGE_TOO_LONG`. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "RANGE_TOO_LONG";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/finance/reports/channels": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Per channel account: orders placed and paid, success rate, amounts, fees, refunds, chargebacks
         * @description `groupBy=day|month` adds the orders placed and paid and the success rate per account and period. `format=csv` answers the periods (with `groupBy`) or the amounts per account and currency as CSV.
         */
        get: {
            parameters: {
                query: {
                    /** @description a date (YYYY-MM-DD: a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime; a date `to` includes its day, a datetime `to` is the first instant left out */
                    from: string;
                    /** @description a date (YYYY-MM-DD: a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime; a date `to` includes its day, a datetime `to` is the first instant left out */
                    to: string;
                    /** @description adds `periods`: orders placed and paid per account and period */
                    groupBy?: "day" | "month";
                    /** @description csv: the periods with `groupBy`, else the amounts per account and currency */
                    format?: "json" | "csv";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The report. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            from: string;
                            to: string;
                            /** @enum {string} */
                            groupBy?: "day" | "month";
                            periods?: {
                                /** @description YYYY-MM-DD or YYYY-MM */
                                period: string;
                                channel: string;
                                ordersCreated: number;
                                ordersPaid: number;
                                successRate: number;
                            }[];
                            channels: {
                                channel: string;
                                ordersCreated: number;
                                ordersPaid: number;
                                /** @description paid / created (0 without orders) */
                                successRate: number;
                                refunds: number;
                                chargebacks: number;
                                amounts: {
                                    currency: string;
                                    /** @description minor units */
                                    paid: number;
                                    /** @description minor units */
                                    refunded: number;
                                    /** @description minor units */
                                    chargedBack: number;
                                    /** @description minor units */
                                    fees: number;
                                }[];
                            }[];
                            /** @description days of the range each channel account is rolled up for (a day appears once its reconciliation ran) */
                            coverage: {
                                channel: string;
                                days: number;
                            }[];
                        };
                        "text/csv": string;
                    };
                };
                /** @description The request is invalid: `VALIDATION_ERROR`. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "VALIDATION_ERROR";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Not authenticated: `UNAUTHORIZED`. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNAUTHORIZED";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Refused: `FORBIDDEN`. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "FORBIDDEN";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is too large: `PAYLOAD_TOO_LARGE`. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "PAYLOAD_TOO_LARGE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description The body is not JSON in UTF-8: `UNSUPPORTED_MEDIA_TYPE`. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "UNSUPPORTED_MEDIA_TYPE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Cannot be served as asked: `RANGE_TOO_LONG`. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "RANGE_TOO_LONG";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description Internal error: `INTERNAL`. */
                500: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "INTERNAL";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
                /** @description PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided: `TEMPORARILY_UNAVAILABLE`. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                /** @enum {string} */
                                code: "TEMPORARILY_UNAVAILABLE";
                                message: string;
                                /** @description context such as the validation issues or the orderId */
                                details?: unknown;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This OpenAPI document */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description OpenAPI 3.1. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": Record<string, never>;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Interactive documentation (Swagger UI) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The Swagger UI page, loading this document. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface webhooks {
    delivery: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Goods to grant: POST to the game's deliveryUrl
         * @description Sent once the order is paid. Signed with the game secret exactly like calls to us (docs/signing.md, with test vectors). Verify the signature over the raw body; refusing a timestamp more than 300 s off is advised (each attempt is signed when it is sent, so a retry is never stale); single-use nonces are optional (every attempt has a fresh one). One attempt waits at most `DELIVERY_HTTP_TIMEOUT_MS` (10 s) for the answer [revocations: `REVOCATION_HTTP_TIMEOUT_MS`, 10 s]. Any 2xx ends the attempts (a delivery of a game with `requireDeliveryEcho`: a 2xx whose JSON echoes the `deliveryId`). Anything else is a failed attempt, retried with the same id: a 4xx as well as a 5xx, a timeout, a refused connection, an answer over 64 KiB, and a 3xx (redirects are not followed: answer from the URL you registered). Retries back off from `DELIVERY_RETRY_INITIAL_MS` (1 s), doubling, to at most `DELIVERY_RETRY_MAX_MS` (5 min), until `DELIVERY_DEADLINE_MS` (24 h) after the payment. Past the deadline the payment is refunded and the order ends `REFUNDED`. Grant each `deliveryId` once.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description the game the call is for */
                    "X-Game-Id": string;
                    /** @description unix seconds when this attempt was signed */
                    "X-Timestamp": string;
                    /** @description 16 random bytes in hex, new for every attempt (a retry never reuses one) */
                    "X-Nonce": string;
                    /** @description lowercase hex HMAC-SHA256 with the game secret over the request, PATH_WITH_QUERY being the path and query of the URL (docs/signing.md) */
                    "X-Signature": string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["DeliveryWebhook"];
                };
            };
            responses: {
                /** @description Taken (any 2xx; the body is ignored unless the game requires the deliveryId echo). Answer 2xx again for a deliveryId you already processed. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried, see the description. */
                "3XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried like a 5xx until the deadline (then the payment is refunded). */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried until the deadline (then the payment is refunded). */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    revocation: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Goods to take back: POST to the game's revokeUrl
         * @description Sent when a delivered order is refunded, charged back or revoked. Signed with the game secret exactly like calls to us (docs/signing.md, with test vectors). Verify the signature over the raw body; refusing a timestamp more than 300 s off is advised (each attempt is signed when it is sent, so a retry is never stale); single-use nonces are optional (every attempt has a fresh one). One attempt waits at most `DELIVERY_HTTP_TIMEOUT_MS` (10 s) for the answer [revocations: `REVOCATION_HTTP_TIMEOUT_MS`, 10 s]. Any 2xx ends the attempts (a delivery of a game with `requireDeliveryEcho`: a 2xx whose JSON echoes the `deliveryId`). Anything else is a failed attempt, retried with the same id: a 4xx as well as a 5xx, a timeout, a refused connection, an answer over 64 KiB, and a 3xx (redirects are not followed: answer from the URL you registered). Retries back off from `DELIVERY_RETRY_INITIAL_MS` (1 s), doubling, to at most `DELIVERY_RETRY_MAX_MS` (5 min), until `DELIVERY_DEADLINE_MS` (24 h) after the payment. A revocation still not taken stays `PENDING` in `GET /v1/ops/revocations` for a person; a game without `revokeUrl` is listed there as `NO_REVOKE_URL`. Take each `revocationId` back once.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description the game the call is for */
                    "X-Game-Id": string;
                    /** @description unix seconds when this attempt was signed */
                    "X-Timestamp": string;
                    /** @description 16 random bytes in hex, new for every attempt (a retry never reuses one) */
                    "X-Nonce": string;
                    /** @description lowercase hex HMAC-SHA256 with the game secret over the request, PATH_WITH_QUERY being the path and query of the URL (docs/signing.md) */
                    "X-Signature": string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RevocationWebhook"];
                };
            };
            responses: {
                /** @description Taken (any 2xx; the body is ignored unless the game requires the deliveryId echo). Answer 2xx again for a revocationId you already processed. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried, see the description. */
                "3XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried like a 5xx until the deadline (then it waits for a person). */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried until the deadline (then it waits for a person). */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    monthlyCardDay: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A monthly card's day: POST to the game's deliveryUrl
         * @description Day 1 of a card once its order is delivered, then one per game day at the game's reset hour. Signed with the game secret exactly like calls to us (docs/signing.md, with test vectors). Verify the signature over the raw body; refusing a timestamp more than 300 s off is advised (each attempt is signed when it is sent, so a retry is never stale); single-use nonces are optional (every attempt has a fresh one). Failed attempts are retried like a delivery, with no deadline: a day is owed until the game server takes it, and days missed while it was down follow in order once it answers. Grant each `deliveryId` once.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description the game the call is for */
                    "X-Game-Id": string;
                    /** @description unix seconds when this attempt was signed */
                    "X-Timestamp": string;
                    /** @description 16 random bytes in hex, new for every attempt (a retry never reuses one) */
                    "X-Nonce": string;
                    /** @description lowercase hex HMAC-SHA256 with the game secret over the request, PATH_WITH_QUERY being the path and query of the URL (docs/signing.md) */
                    "X-Signature": string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["MonthlyCardDayWebhook"];
                };
            };
            responses: {
                /** @description Taken (any 2xx; the body is ignored unless the game requires the deliveryId echo). Answer 2xx again for a deliveryId you already processed. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried, see the description. */
                "3XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried like a 5xx until the deadline (the day stays owed). */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description A failed attempt: retried until the deadline (the day stays owed). */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface components {
    schemas: {
        /**
         * @example {
         *       "name": "Demo Game",
         *       "secret": "demo-secret-for-local-development-only-0001",
         *       "deliveryUrl": "https://game.example.com/payments/deliveries"
         *     }
         */
        GameUpsert: {
            name: string;
            /** @description HMAC key shared with the game server: signs its calls to us and our deliveries to it (or give `secrets`) */
            secret?: string;
            /** @description rotation: one or two secrets (instead of `secret`); a call to us signed with either passes, our deliveries are signed with the first. Rotate by sending [new, old], then [new] once the game server signs with the new one */
            secrets?: string[];
            /**
             * Format: uri
             * @description where paid orders are delivered (signed POST; redirects are not followed). https outside development; no credentials in the URL; link-local addresses are refused, private and loopback ones unless EGRESS_ALLOW_PRIVATE_NETWORKS
             */
            deliveryUrl: string;
            /**
             * Format: uri
             * @description where the game is told to take back goods of refunded or charged-back orders (signed POST; the same rules as deliveryUrl)
             */
            revokeUrl?: string;
            /** @description when true, a delivery counts only if the game's 2xx answer is JSON echoing the call's `deliveryId` (`{ "deliveryId": "..." }`); otherwise the attempt failed and is retried (something in front of the game may have answered). Default false */
            requireDeliveryEcho?: boolean;
            /**
             * @description how the game takes deliveries and revocations: HTTP (a signed POST to deliveryUrl / revokeUrl, the default), NATS (JetStream subject `payments.deliveries.<gameId>`) or RABBITMQ (exchange `payments.deliveries`, routing key the game id); over a broker the game acknowledges each delivery with POST /v1/deliveries/{deliveryId}/ack, and an attempt without an ack within `ackTimeoutMs` (default 30000) is republished
             * @example {
             *       "mode": "NATS",
             *       "ackTimeoutMs": 30000
             *     }
             */
            delivery?: {
                /** @enum {string} */
                mode: "HTTP" | "NATS" | "RABBITMQ";
                ackTimeoutMs?: number;
            };
            /**
             * @description per platform, the channel types its orders may pay through (e.g. iOS digital goods only through appstore); platforms not named, and a game without a policy, may use every enabled account
             * @example {
             *       "ios": [
             *         "appstore"
             *       ],
             *       "android": [
             *         "googleplay",
             *         "alipay",
             *         "wechatpay"
             *       ]
             *     }
             */
            channelPolicy?: {
                [key: string]: ("sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay")[];
            };
            /**
             * @description IANA time zone of the game's day (default Asia/Shanghai)
             * @example Asia/Shanghai
             */
            timeZone?: string;
            /** @description local hour (0-23) at which the game's day starts (default 0) */
            dailyResetHour?: number;
            /**
             * @description answers to the App Store's consumption requests (Send Consumption Information, before Apple decides a player's refund): OFF (the default) sends nothing; ON sends the order's delivery status, `sampleContentProvided`, the latest `consumptionPercentage` of its grant-log lines and the default `refundPreference` (GRANT_PRORATED only with a consumption percentage above 0) when the player consented: ALL (by the game's terms) or PER_ORDER (only for orders created with `consumptionDataConsent: true`)
             * @example {
             *       "answers": "ON",
             *       "playerConsent": "ALL",
             *       "sampleContentProvided": false,
             *       "refundPreference": "DECLINE"
             *     }
             */
            consumptionAnswers?: {
                /** @enum {string} */
                answers: "OFF" | "ON";
                /**
                 * @default ALL
                 * @enum {string}
                 */
                playerConsent: "ALL" | "PER_ORDER";
                /** @default false */
                sampleContentProvided: boolean;
                /** @enum {string} */
                refundPreference?: "DECLINE" | "GRANT_FULL" | "GRANT_PRORATED";
            };
            /**
             * @description the age band of an order that names none (default ADULT): a minor band holds such orders to the region's spending caps
             * @enum {string}
             */
            defaultAgeBand?: "UNDER_8" | "8_TO_15" | "16_TO_17" | "ADULT";
        };
        /**
         * @example {
         *       "gameId": "demo-game",
         *       "name": "60 Gems",
         *       "grants": [
         *         {
         *           "itemId": "gem",
         *           "quantity": 60
         *         }
         *       ],
         *       "prices": [
         *         {
         *           "region": "CN",
         *           "currency": "CNY",
         *           "amount": 600
         *         },
         *         {
         *           "region": "JP",
         *           "currency": "JPY",
         *           "amount": 160
         *         },
         *         {
         *           "region": "*",
         *           "currency": "USD",
         *           "amount": 99
         *         }
         *       ]
         *     }
         * @example {
         *       "gameId": "demo-game",
         *       "name": "Founder Pack (limited)",
         *       "grants": [
         *         {
         *           "itemId": "gem",
         *           "quantity": 300
         *         },
         *         {
         *           "itemId": "founder-skin",
         *           "quantity": 1
         *         }
         *       ],
         *       "prices": [
         *         {
         *           "region": "CN",
         *           "currency": "CNY",
         *           "amount": 3000
         *         },
         *         {
         *           "region": "*",
         *           "currency": "USD",
         *           "amount": 499
         *         }
         *       ],
         *       "stock": 1000
         *     }
         */
        ItemUpsert: {
            /** @example demo-game */
            gameId: string;
            name: string;
            /** @description what one unit grants in the game */
            grants: {
                itemId: string;
                quantity: number;
            }[];
            /** @description per region (and optionally channel type and window); replaced as a whole. One windowless price per region and channel type; windows of one region and type do not overlap */
            prices: {
                /** @description ISO 3166-1 alpha-2, or "*" for every other region */
                region: string | "*";
                currency: string;
                /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                amount: number;
                /**
                 * @description a channel type: the price of orders paid through that type (it wins over the plain price)
                 * @enum {string}
                 */
                channel?: "sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay";
                /**
                 * Format: date-time
                 * @description a scheduled price: in force from (inclusive)
                 */
                startsAt?: string;
                /**
                 * Format: date-time
                 * @description a scheduled price: in force until (exclusive); while in force it wins over the windowless price
                 */
                endsAt?: string;
            }[];
            /** @description units left to sell; null: unlimited; omitted: a new item is unlimited, an existing one keeps its stock */
            stock?: number | null;
            /**
             * @description the item's product id in each store
             * @example {
             *       "appstore": "com.studio.game.gems60",
             *       "googleplay": "gems_60"
             *     }
             */
            storeProducts?: {
                appstore?: string;
                googleplay?: string;
            };
            /**
             * @description CONSUMABLE (default), NON_CONSUMABLE, BUNDLE (a consumable with several grants) or MONTHLY_CARD
             * @enum {string}
             */
            kind?: "CONSUMABLE" | "NON_CONSUMABLE" | "BUNDLE" | "MONTHLY_CARD";
            /**
             * @description a monthly card's terms (required for kind MONTHLY_CARD, refused for others)
             * @example {
             *       "days": 30,
             *       "dailyGrants": [
             *         {
             *           "itemId": "gems",
             *           "quantity": 100
             *         }
             *       ]
             *     }
             */
            monthlyCard?: {
                /** @description game days the card grants, counting the day of purchase */
                days: number;
                /** @description what each card day grants */
                dailyGrants: {
                    itemId: string;
                    quantity: number;
                }[];
            };
            saleWindow?: {
                /**
                 * Format: date-time
                 * @description on sale from (inclusive, ISO 8601 UTC)
                 */
                startsAt?: string;
                /**
                 * Format: date-time
                 * @description on sale until (exclusive, ISO 8601 UTC)
                 */
                endsAt?: string;
            };
            /**
             * @description per-user limits in units
             * @example {
             *       "perUserDaily": 1,
             *       "perUserLifetime": 3
             *     }
             */
            limits?: {
                /** @description units one user may buy per game day (the game's time zone and reset hour) */
                perUserDaily?: number;
                /** @description units one user may buy, ever (closed and refunded-before-delivery orders give theirs back) */
                perUserLifetime?: number;
                /** @description units one user's unpaid orders of the item may hold; more is refused 422 QUANTITY_NOT_ALLOWED until one is paid or closed (default maxPerOrder for limited stock; unlimited items: no cap unless set) */
                maxPendingPerUser?: number;
            };
            /** @description units one order may buy (default 10 for limited stock, else unbounded) */
            maxPerOrder?: number;
            /**
             * @example {
             *       "grants": [
             *         {
             *           "itemId": "gems",
             *           "quantity": 60
             *         }
             *       ],
             *       "group": "gem-packs"
             *     }
             */
            firstPurchaseBonus?: {
                /** @description granted once, with the user's first order of this sku (or of any sku of the group) */
                grants: {
                    itemId: string;
                    quantity: number;
                }[];
                /** @description items of one group share one bonus per user */
                group?: string;
            };
            /** @description operator's labels (filter of GET /v1/admin/items) */
            tags?: string[];
        };
        /**
         * @example {
         *       "kind": "VELOCITY",
         *       "params": {
         *         "subject": "USER",
         *         "metric": "ORDERS",
         *         "windowSeconds": 600,
         *         "max": 10
         *       },
         *       "action": "REVIEW",
         *       "enabled": true
         *     }
         */
        RiskRuleUpsert: {
            /** @constant */
            kind: "VELOCITY";
            params: {
                /**
                 * @description USER, DEVICE, IP or SUBNET (IPv4 /24, IPv6 /48)
                 * @enum {string}
                 */
                subject: "USER" | "DEVICE" | "IP" | "SUBNET";
                /** @enum {string} */
                metric: "ORDERS" | "AMOUNT";
                /** @description seconds */
                windowSeconds: number;
                /** @description orders, or minor units for AMOUNT; hit when exceeded */
                max: number;
                /** @description AMOUNT: the currency summed (other orders are not counted against it) */
                currency?: string;
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        } | {
            /** @constant */
            kind: "AMOUNT_ANOMALY";
            params: {
                multipleOfAverage: number;
                minPaidOrders: number;
                /**
                 * @example {
                 *       "currency": "CNY",
                 *       "value": 500000
                 *     }
                 */
                firstPurchaseMax: {
                    currency: string;
                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                    value: number;
                };
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        } | {
            /** @constant */
            kind: "NEW_DEVICE_HIGH_VALUE";
            params: {
                /**
                 * @example {
                 *       "currency": "CNY",
                 *       "value": 500000
                 *     }
                 */
                amount: {
                    currency: string;
                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                    value: number;
                };
                /** @description seconds */
                deviceAgeSeconds: number;
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        } | {
            /** @constant */
            kind: "SHARED_DEVICE";
            params: {
                /** @description seconds */
                windowSeconds: number;
                maxUsers: number;
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        } | {
            /** @constant */
            kind: "SHARED_IP";
            params: {
                /** @description seconds */
                windowSeconds: number;
                maxUsers: number;
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        } | {
            /** @constant */
            kind: "PAYMENT_FAILURES";
            params: {
                /** @description seconds */
                windowSeconds: number;
                max: number;
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        } | {
            /** @constant */
            kind: "AML_SINGLE";
            params: {
                /**
                 * @example {
                 *       "currency": "CNY",
                 *       "value": 500000
                 *     }
                 */
                amount: {
                    currency: string;
                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                    value: number;
                };
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        } | {
            /** @constant */
            kind: "AML_DAILY";
            params: {
                /**
                 * @example {
                 *       "currency": "CNY",
                 *       "value": 500000
                 *     }
                 */
                amount: {
                    currency: string;
                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                    value: number;
                };
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        };
        /**
         * @example {
         *       "currency": "CNY",
         *       "bands": {
         *         "UNDER_8": {
         *           "perPurchase": 0,
         *           "monthly": 0
         *         },
         *         "8_TO_15": {
         *           "perPurchase": 5000,
         *           "monthly": 20000
         *         },
         *         "16_TO_17": {
         *           "perPurchase": 10000,
         *           "monthly": 40000
         *         }
         *       }
         *     }
         */
        MinorCaps: {
            currency: string;
            /** @description per minor band; a band left out has no cap (0 and 0: no purchases) */
            bands: {
                [key: string]: {
                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                    perPurchase: number;
                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                    monthly: number;
                };
            };
        };
        /**
         * @example {
         *       "reason": "chargeback fraud, ticket RISK-1042"
         *     }
         */
        BlacklistEntryUpsert: {
            reason?: string;
            /**
             * Format: date-time
             * @description denies no more from then on; must lie in the future
             */
            expiresAt?: string;
        };
        /**
         * @example {
         *       "type": "sandbox",
         *       "enabled": true,
         *       "displayName": "Sandbox (development)"
         *     }
         * @example {
         *       "type": "sandbox",
         *       "enabled": true,
         *       "displayName": "Sandbox, second merchant (fails every create: a failover demo)",
         *       "credentials": {
         *         "failCreateRate": 1,
         *         "createLatencyMs": 50
         *       },
         *       "routing": {
         *         "platforms": [
         *           "android",
         *           "web",
         *           "pc"
         *         ],
         *         "regions": [
         *           "CN",
         *           "HK"
         *         ],
         *         "currencies": [
         *           "CNY"
         *         ],
         *         "feeRateBps": 55,
         *         "priority": 1
         *       }
         *     }
         * @example {
         *       "type": "wechatpay",
         *       "enabled": true,
         *       "displayName": "WeChat Pay, main merchant",
         *       "credentials": {
         *         "mchId": "1900000109",
         *         "appId": "wxd678efh567hg6787",
         *         "apiV3Key": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
         *         "merchantPrivateKey": "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----",
         *         "merchantSerialNo": "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
         *         "platformPublicKeys": [
         *           {
         *             "id": "PUB_KEY_ID_0114232134912410000000000001",
         *             "pem": "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----"
         *           }
         *         ]
         *       }
         *     }
         */
        ChannelAccountUpsert: {
            /** @enum {string} */
            type: "sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay";
            enabled: boolean;
            displayName?: string;
            /** @description Write-only: validated for the type, stored encrypted, never returned or logged; replaced only when present. The fields per type are listed in docs/channels.md. Sandbox accounts also take fault settings for demos and tests: `failCreateRate` (0..1, creates that fail as an outage would), `createLatencyMs`, `declineRate` (0..1, payments the provider declines). */
            credentials?: {
                [key: string]: unknown;
            };
            /** @description replaced only when present; null: back to the defaults (every platform, region and currency, no fee) */
            routing?: components["schemas"]["ChannelRouting"] | null;
        };
        /**
         * @example {
         *       "platforms": [
         *         "android",
         *         "web"
         *       ],
         *       "regions": [
         *         "CN"
         *       ],
         *       "currencies": [
         *         "CNY"
         *       ],
         *       "feeRateBps": 60
         *     }
         */
        ChannelRouting: {
            /** @description where payers pay; default: all (ios, android, web, pc) */
            platforms?: ("ios" | "android" | "web" | "pc")[];
            /** @description ISO 3166-1 alpha-2 codes, or "*" for every region (the default) */
            regions?: (string | "*")[];
            /** @description ISO 4217 codes the account takes; default: every currency */
            currencies?: string[];
            /** @description percentage fee in basis points (60 = 0.60%), rounded half up to the minor unit; default 0 */
            feeRateBps?: number;
            /** @description a fee per payment on top; an account with one takes only its currency */
            fixedFee?: {
                currency: string;
                /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                value: number;
            };
            /** @description higher wins between accounts of equal expected cost; default 0 */
            priority?: number;
            /** @description share of the orders between accounts of equal cost and priority, relative to each other; default 0: no share, such accounts follow the weighted ones in configuration order */
            weight?: number;
        };
        /**
         * @example {
         *       "userId": "player-10086",
         *       "sku": "gems-60",
         *       "quantity": 2,
         *       "region": "CN",
         *       "channel": "sandbox",
         *       "clientIp": "203.0.113.7",
         *       "deviceId": "ios-7f3a9c"
         *     }
         * @example {
         *       "userId": "player-20417",
         *       "sku": "gems-60",
         *       "region": "US"
         *     }
         * @example {
         *       "userId": "player-30512",
         *       "sku": "gems-60",
         *       "region": "CN",
         *       "ageBand": "8_TO_15"
         *     }
         * @example {
         *       "userId": "player-40233",
         *       "sku": "gems-60",
         *       "region": "US",
         *       "channel": "appstore",
         *       "platform": "ios",
         *       "consumptionDataConsent": true
         *     }
         */
        CreateOrder: {
            userId: string;
            sku: string;
            /** @default 1 */
            quantity: number;
            region: string;
            /** @description a channel account, used only if it can take the order; omitted: the router chooses and fails over (docs/routing.md) */
            channel?: string;
            clientIp?: string;
            /**
             * @description where the payer pays: decides e.g. app pay or page pay
             * @enum {string}
             */
            platform?: "ios" | "android" | "web" | "pc";
            deviceId?: string;
            /**
             * @description the payer's age band; omitted: the game's defaultAgeBand (ADULT unless set). A minor's orders are held to the region's spending caps (403 MINOR_SPENDING_LIMIT)
             * @enum {string}
             */
            ageBand?: "UNDER_8" | "8_TO_15" | "16_TO_17" | "ADULT";
            /** @description the player agreed that the store may be told how much of the purchase they used when they ask it for a refund (App Store consumption requests). Read only by a game whose consumptionAnswers.playerConsent is PER_ORDER: it answers only for orders that said true */
            consumptionDataConsent?: boolean;
        };
        /**
         * @example {
         *       "signedTransaction": "eyJhbGciOiJFUzI1NiIsIng1YyI6WyJNSUlCLi4uIl19.eyJ0cmFuc2FjdGlvbklkIjoiMjAwMDAwMDEifQ.c2lnbmF0dXJl"
         *     }
         * @example {
         *       "purchaseToken": "opaque-token-from-google-play",
         *       "productId": "gems_60"
         *     }
         */
        StoreReceipt: {
            /** @description App Store: the StoreKit 2 `Transaction.jwsRepresentation` */
            signedTransaction: string;
        } | {
            /** @description Google Play: the purchase's token */
            purchaseToken: string;
            productId: string;
        };
        /**
         * @example {
         *       "reason": "game server was down 14:00-15:10 UTC, ticket OPS-311"
         *     }
         */
        OpsAction: {
            reason: string;
        };
        /**
         * @example {
         *       "reason": "player charged twice, ticket CS-8812",
         *       "revoke": true
         *     }
         */
        OpsRefund: {
            reason: string;
            /** @description a DELIVERED order: tell the game to take the goods back (default true) */
            revoke?: boolean;
        };
        /**
         * @example {
         *       "action": "DELIVER",
         *       "reason": "paid 1200 CNY as asked; the channel reported 12.00 as 1200.00"
         *     }
         */
        OpsResolve: {
            reason: string;
            /** @enum {string} */
            action: "DELIVER" | "REFUND";
        };
        /**
         * @example {
         *       "decision": "APPROVE",
         *       "reason": "known player, card verified by phone, ticket RISK-88"
         *     }
         */
        RiskReviewDecision: {
            /** @enum {string} */
            decision: "APPROVE" | "DENY";
            reason: string;
        };
        /**
         * @example {
         *       "token": "…",
         *       "operator": "alice@studio.example"
         *     }
         */
        ConsoleSignIn: {
            /** @description the admin token; exchanged once for the sign-in cookie */
            token: string;
            /**
             * @description who signs in with the single `ADMIN_TOKEN` (required with it; a named token of `ADMIN_TOKENS` is its own name): recorded with every action
             * @example alice@studio.example
             */
            operator?: string;
        };
        /**
         * @example {
         *       "date": "2026-11-01",
         *       "grants": [
         *         {
         *           "deliveryId": "dlv_3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b",
         *           "orderId": "3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b",
         *           "grantedAt": "2026-11-01T08:05:00.000Z",
         *           "consumptionPercentage": 25000
         *         }
         *       ]
         *     }
         * @example {
         *       "date": "2026-11-02",
         *       "grants": []
         *     }
         */
        GrantLog: {
            /** @description the game's day the grants belong to (its log of that day) */
            date: string;
            grants: {
                /** @description the deliveryId our delivery carried */
                deliveryId: string;
                /** Format: uuid */
                orderId: string;
                /** Format: date-time */
                grantedAt: string;
                /** @description how much of the grant the player has used so far, in milliunits (0-100000 = 0-100%); may be sent again on a later day with a new figure (the latest report wins). Sent to the App Store when it asks before a refund; omitted: not told */
                consumptionPercentage?: number;
            }[];
        };
        /**
         * @example {
         *       "orderId": "6628662b-0f14-8bd6-8d28-74575f84a0ec",
         *       "result": "GRANTED"
         *     }
         * @example {
         *       "orderId": "6628662b-0f14-8bd6-8d28-74575f84a0ec",
         *       "result": "REJECTED",
         *       "reason": "the player account was deleted"
         *     }
         */
        DeliveryAck: {
            /**
             * Format: uuid
             * @description the order of the delivery (the message's `orderId`)
             */
            orderId: string;
            /**
             * @description GRANTED: the goods are the player's (the order becomes DELIVERED); REJECTED: the game cannot take them (refunded at once, DELIVERY_REJECTED)
             * @enum {string}
             */
            result: "GRANTED" | "REJECTED";
            /** @description why, for people (e.g. why a delivery was rejected) */
            reason?: string;
        };
        /**
         * @example {
         *       "orderId": "6628662b-0f14-8bd6-8d28-74575f84a0ec"
         *     }
         */
        RevocationAck: {
            /**
             * Format: uuid
             * @description the order of the revocation (the message's `orderId`)
             */
            orderId: string;
        };
        /**
         * @example {
         *       "channel": "sandbox",
         *       "from": "2026-11-01",
         *       "to": "2026-11-07"
         *     }
         */
        ReconciliationRequest: {
            /** @example sandbox */
            channel: string;
            /**
             * @description a date (YYYY-MM-DD: a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime; a date `to` includes its day, a datetime `to` is the first instant left out
             * @example 2026-11-01
             * @example 2026-11-01T00:00:00+08:00
             */
            from: string;
            /**
             * @description a date (YYYY-MM-DD: a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime; a date `to` includes its day, a datetime `to` is the first instant left out
             * @example 2026-11-01
             * @example 2026-11-01T00:00:00+08:00
             */
            to: string;
        };
        /**
         * @example {
         *       "note": "refunded by the channel console, ticket FIN-204"
         *     }
         */
        ResolveDifference: {
            note: string;
        };
        /**
         * @example {
         *       "deliveryId": "dlv_6628662b-0f14-8bd6-8d28-74575f84a0ec",
         *       "orderId": "6628662b-0f14-8bd6-8d28-74575f84a0ec",
         *       "userId": "player-42",
         *       "sku": "demo-gems-60",
         *       "quantity": 2,
         *       "grants": [
         *         {
         *           "itemId": "gems",
         *           "quantity": 120
         *         }
         *       ],
         *       "amount": {
         *         "currency": "CNY",
         *         "value": 1200
         *       },
         *       "paidAt": "2026-12-07T10:00:03.512Z"
         *     }
         */
        DeliveryWebhook: {
            /** @description `dlv_<orderId>`: one per order, the same on every attempt; grant each once */
            deliveryId: string;
            /** @description the order (a UUID) */
            orderId: string;
            /** @description the player, as the game sent it when it created the order */
            userId: string;
            sku: string;
            /** @description units of the item bought */
            quantity: number;
            /** @description what to grant (or take back) in the game: totals, already multiplied by `quantity` (grant these, don't multiply again) */
            grants: {
                itemId: string;
                quantity: number;
            }[];
            /** @description what the order cost, in minor units */
            amount: components["schemas"]["Money"];
            /** @description the first-purchase bonus part of `grants` (already included there, after the item's grants; once per order) */
            bonusGrants?: {
                itemId: string;
                quantity: number;
            }[];
            /**
             * Format: date-time
             * @description when the payment was captured
             */
            paidAt?: string;
        };
        /**
         * @example {
         *       "currency": "CNY",
         *       "value": 1200
         *     }
         */
        Money: {
            currency: string;
            /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
            value: number;
        };
        /**
         * @example {
         *       "revocationId": "rv_6628662b-0f14-8bd6-8d28-74575f84a0ec",
         *       "orderId": "6628662b-0f14-8bd6-8d28-74575f84a0ec",
         *       "userId": "player-42",
         *       "sku": "demo-gems-60",
         *       "quantity": 2,
         *       "grants": [
         *         {
         *           "itemId": "gems",
         *           "quantity": 120
         *         }
         *       ],
         *       "reason": "REFUND",
         *       "amount": {
         *         "currency": "CNY",
         *         "value": 1200
         *       }
         *     }
         */
        RevocationWebhook: {
            /** @description `rv_<orderId>`: one per order, the same on every attempt; take the goods back once */
            revocationId: string;
            /** @description the order (a UUID) */
            orderId: string;
            /** @description the player, as the game sent it when it created the order */
            userId: string;
            sku: string;
            /** @description units of the item bought */
            quantity: number;
            /** @description what to grant (or take back) in the game: totals, already multiplied by `quantity` (grant these, don't multiply again) */
            grants: {
                itemId: string;
                quantity: number;
            }[];
            /** @description what the order cost, in minor units */
            amount: components["schemas"]["Money"];
            /** @description the first-purchase bonus part of `grants` (already included there, after the item's grants; once per order) */
            bonusGrants?: {
                itemId: string;
                quantity: number;
            }[];
            /**
             * @description REFUND: the money went back (the channel or an operator); CHARGEBACK: the payer disputed it; REVOKED: the store revoked it
             * @enum {string}
             */
            reason: "REFUND" | "CHARGEBACK" | "REVOKED";
        };
        /**
         * @example {
         *       "deliveryId": "mc_5b1f0c9e2d7a4e3f8a6b1c0d9e8f7a6b:2",
         *       "kind": "MONTHLY_CARD_DAILY",
         *       "cardId": "mc_5b1f0c9e2d7a4e3f8a6b1c0d9e8f7a6b",
         *       "orderId": "6628662b-0f14-8bd6-8d28-74575f84a0ec",
         *       "userId": "player-42",
         *       "sku": "demo-monthly-card",
         *       "day": 2,
         *       "grants": [
         *         {
         *           "itemId": "gems",
         *           "quantity": 100
         *         }
         *       ]
         *     }
         */
        MonthlyCardDayWebhook: {
            /** @description `<cardId>:<day>`: one per card day, the same on every attempt; grant each once */
            deliveryId: string;
            /**
             * @description a monthly card day (an order delivery has no `kind`)
             * @constant
             */
            kind: "MONTHLY_CARD_DAILY";
            /** @description one card per game, user and sku (GET /v1/monthly-cards) */
            cardId: string;
            /** @description the card order whose days this day is one of */
            orderId: string;
            /** @description the player, as the game sent it when it created the order */
            userId: string;
            sku: string;
            /** @description the card's day number, counted on across purchases (never reused) */
            day: number;
            /** @description the card's dailyGrants */
            grants: {
                itemId: string;
                quantity: number;
            }[];
        };
        SandboxNotification: {
            notifyId: string;
            /** @constant */
            event: "PAYMENT_RESULT";
            paymentId: string;
            merchantOrderId: string;
            /** @enum {string} */
            result: "SUCCESS" | "FAILED";
            txnId?: string;
            amount: number;
            currency: string;
            /** Format: date-time */
            paidAt?: string;
        };
        ItemList: {
            items: {
                sku: string;
                gameId: string;
                name: string;
                grants: {
                    itemId: string;
                    quantity: number;
                }[];
                /** @description units left to sell; null for unlimited */
                stock: number | null;
                prices: {
                    /** @description ISO 3166-1 alpha-2, or "*" for every other region */
                    region: string | "*";
                    currency: string;
                    /** @description integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120) */
                    amount: number;
                    /**
                     * @description a channel type: the price of orders paid through that type (it wins over the plain price)
                     * @enum {string}
                     */
                    channel?: "sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay";
                    /**
                     * Format: date-time
                     * @description a scheduled price: in force from (inclusive)
                     */
                    startsAt?: string;
                    /**
                     * Format: date-time
                     * @description a scheduled price: in force until (exclusive); while in force it wins over the windowless price
                     */
                    endsAt?: string;
                }[];
                /**
                 * @description the item's product id in each store
                 * @example {
                 *       "appstore": "com.studio.game.gems60",
                 *       "googleplay": "gems_60"
                 *     }
                 */
                storeProducts?: {
                    appstore?: string;
                    googleplay?: string;
                };
                /** @enum {string} */
                kind: "CONSUMABLE" | "NON_CONSUMABLE" | "BUNDLE" | "MONTHLY_CARD";
                /**
                 * @description a monthly card's terms (required for kind MONTHLY_CARD, refused for others)
                 * @example {
                 *       "days": 30,
                 *       "dailyGrants": [
                 *         {
                 *           "itemId": "gems",
                 *           "quantity": 100
                 *         }
                 *       ]
                 *     }
                 */
                monthlyCard?: {
                    /** @description game days the card grants, counting the day of purchase */
                    days: number;
                    /** @description what each card day grants */
                    dailyGrants: {
                        itemId: string;
                        quantity: number;
                    }[];
                };
                saleWindow?: {
                    /**
                     * Format: date-time
                     * @description on sale from (inclusive, ISO 8601 UTC)
                     */
                    startsAt?: string;
                    /**
                     * Format: date-time
                     * @description on sale until (exclusive, ISO 8601 UTC)
                     */
                    endsAt?: string;
                };
                /**
                 * @description per-user limits in units
                 * @example {
                 *       "perUserDaily": 1,
                 *       "perUserLifetime": 3
                 *     }
                 */
                limits?: {
                    /** @description units one user may buy per game day (the game's time zone and reset hour) */
                    perUserDaily?: number;
                    /** @description units one user may buy, ever (closed and refunded-before-delivery orders give theirs back) */
                    perUserLifetime?: number;
                    /** @description units one user's unpaid orders of the item may hold; more is refused 422 QUANTITY_NOT_ALLOWED until one is paid or closed (default maxPerOrder for limited stock; unlimited items: no cap unless set) */
                    maxPendingPerUser?: number;
                };
                maxPerOrder?: number;
                /**
                 * @example {
                 *       "grants": [
                 *         {
                 *           "itemId": "gems",
                 *           "quantity": 60
                 *         }
                 *       ],
                 *       "group": "gem-packs"
                 *     }
                 */
                firstPurchaseBonus?: {
                    /** @description granted once, with the user's first order of this sku (or of any sku of the group) */
                    grants: {
                        itemId: string;
                        quantity: number;
                    }[];
                    /** @description items of one group share one bonus per user */
                    group?: string;
                };
                tags: string[];
                /**
                 * Format: date-time
                 * @description set once retired (DELETE): no new orders, not in the storefront
                 */
                retiredAt?: string;
            }[];
        };
        ItemAudit: {
            entries: {
                /** Format: date-time */
                at: string;
                actor: string;
                /** @enum {string} */
                action: "CREATED" | "UPDATED" | "RETIRED";
                before: unknown | null;
                after: unknown | null;
            }[];
        };
        AuditTrail: {
            entries: {
                /** Format: date-time */
                at: string;
                /** @description who acted: the operator token's name (the shared ADMIN_TOKEN: its X-Operator, else `admin`) */
                actor: string;
                /** @description X-Operator of a named token: on whose behalf the actor acted */
                operator?: string;
                /**
                 * @example game
                 * @example channel_account
                 * @example order
                 */
                entity: string;
                entityId: string;
                /** @description CREATE, UPDATE or DELETE of a configuration entity; the action on an order (REFUND, RETRY_DELIVERY, ...) */
                action: string;
                before?: unknown;
                after?: unknown;
                /** @description an action on an order: REQUESTED, ACCEPTED, REFUSED or FAILED */
                outcome?: string;
            }[];
        };
        RiskRule: {
            ruleId: string;
            /** @enum {string} */
            kind: "VELOCITY" | "AMOUNT_ANOMALY" | "NEW_DEVICE_HIGH_VALUE" | "SHARED_DEVICE" | "SHARED_IP" | "PAYMENT_FAILURES" | "AML_SINGLE" | "AML_DAILY";
            params: {
                [key: string]: unknown;
            };
            /** @enum {string} */
            action: "REVIEW" | "DENY";
            enabled: boolean;
            /** @description the one game it applies to; absent: every game */
            gameId?: string;
        };
        BlacklistEntry: {
            /**
             * @example USER
             * @enum {string}
             */
            kind: "USER" | "DEVICE" | "IP" | "CIDR";
            value: string;
            reason?: string;
            /** Format: date-time */
            expiresAt?: string;
        };
        ChannelAccount: {
            channelId: string;
            /** @enum {string} */
            type: "sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay";
            enabled: boolean;
            displayName?: string;
            /**
             * @description the implicit sandbox account (SANDBOX_ENABLED, not stored): it takes an order only when no configured account can; configuring an account named `sandbox` replaces it
             * @constant
             */
            builtIn?: true;
            /** @description credentials are stored (they are never returned) */
            hasCredentials: boolean;
            /** @description the routing fields in force, omitted ones at their defaults; absent: none configured (every platform, region and currency, no fee) */
            routing?: {
                platforms: ("ios" | "android" | "web" | "pc")[];
                regions: string[];
                /** @description absent: every currency */
                currencies?: string[];
                feeRateBps: number;
                fixedFee?: {
                    currency: string;
                    value: number;
                };
                priority: number;
                weight: number;
            };
            /**
             * Format: date-time
             * @description absent for the built-in account
             */
            updatedAt?: string;
        };
        /**
         * @example {
         *       "backend": "postgresql",
         *       "checkedAt": "2026-11-30T08:00:00.000Z",
         *       "channels": [
         *         {
         *           "channelId": "sandbox",
         *           "type": "sandbox",
         *           "enabled": true,
         *           "state": "CLOSED",
         *           "consecutiveFailures": 0,
         *           "calls": 412,
         *           "failures": 0,
         *           "successRate": 1,
         *           "createLatencyP95Ms": 14,
         *           "creates": {
         *             "attempts": 100,
         *             "successes": 100,
         *             "successRate": 1
         *           }
         *         },
         *         {
         *           "channelId": "sandbox-backup",
         *           "type": "sandbox",
         *           "enabled": true,
         *           "state": "OPEN",
         *           "stateChangedAt": "2026-11-30T07:59:48.120Z",
         *           "consecutiveFailures": 5,
         *           "calls": 5,
         *           "failures": 5,
         *           "successRate": 0,
         *           "createLatencyP95Ms": 3,
         *           "creates": {
         *             "attempts": 37,
         *             "successes": 32,
         *             "successRate": 0.8936
         *           }
         *         }
         *       ]
         *     }
         */
        ChannelHealth: {
            /**
             * @description where the shared state lives (Redis when REDIS_URL is set)
             * @enum {string}
             */
            backend: "postgresql" | "redis";
            /** Format: date-time */
            checkedAt: string;
            channels: {
                channelId: string;
                /**
                 * @description absent for an account no longer configured
                 * @enum {string}
                 */
                type?: "sandbox" | "alipay" | "wechatpay" | "appstore" | "googleplay" | "unionpay";
                enabled?: boolean;
                /**
                 * @description the circuit breaker: OPEN accounts get no new orders; HALF_OPEN ones get a few probes
                 * @enum {string}
                 */
                state: "CLOSED" | "OPEN" | "HALF_OPEN";
                /**
                 * Format: date-time
                 * @description when the breaker last changed state
                 */
                stateChangedAt?: string;
                consecutiveFailures: number;
                /** @description calls to the account's API (create, query, close, refund) in the breaker's window */
                calls: number;
                /** @description of which technical failures (errors, timeouts; not refusals or declines) */
                failures: number;
                /** @description share of the window's calls without a technical failure */
                successRate?: number;
                /** @description p95 of the routing window's create calls */
                createLatencyP95Ms?: number;
                /** @description the routing window (the last N creates within T) and the success rate routing uses (with its prior) */
                creates: {
                    attempts: number;
                    successes: number;
                    successRate: number;
                };
            }[];
        };
        /**
         * @example {
         *       "orderId": "3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b",
         *       "status": "PENDING_PAYMENT",
         *       "amount": {
         *         "currency": "CNY",
         *         "value": 1200
         *       },
         *       "channel": "sandbox",
         *       "payment": {
         *         "channelPaymentId": "sbx_9a7c3e1f5b2d4c6e8a0b1c2d",
         *         "payUrl": "http://127.0.0.1:3000/sandbox/checkout/sbx_9a7c3e1f5b2d4c6e8a0b1c2d"
         *       },
         *       "expiresAt": "2026-11-30T08:15:00.000Z"
         *     }
         */
        CreatedOrder: {
            /** Format: uuid */
            orderId: string;
            /** @description PENDING_PAYMENT; a retry after the order finished answers its status */
            status: components["schemas"]["OrderStatus"];
            amount: components["schemas"]["Money"];
            channel: string;
            /** @description what the payer needs, in the channel's terms (the sandbox: channelPaymentId, payUrl) */
            payment?: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            expiresAt: string;
            /** @description the first-purchase bonus this order claimed (delivered after the item's grants) */
            bonusGrants?: {
                itemId: string;
                quantity: number;
            }[];
        };
        /** @enum {string} */
        OrderStatus: "PENDING_PAYMENT" | "PAID" | "DELIVERING" | "DELIVERED" | "CLOSED" | "REJECTED" | "REFUNDED" | "MANUAL_REVIEW" | "CHARGED_BACK" | "RISK_REVIEW";
        /**
         * @example {
         *       "orderId": "3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b",
         *       "status": "DELIVERED",
         *       "userId": "player-10086",
         *       "sku": "demo-gems-60",
         *       "quantity": 2,
         *       "amount": {
         *         "currency": "CNY",
         *         "value": 1200
         *       },
         *       "channel": "sandbox",
         *       "createdAt": "2026-11-30T08:00:00.000Z",
         *       "expiresAt": "2026-11-30T08:15:00.000Z",
         *       "paidAt": "2026-11-30T08:01:12.345Z",
         *       "deliveredAt": "2026-11-30T08:01:12.610Z",
         *       "history": [
         *         {
         *           "status": "PENDING_PAYMENT",
         *           "at": "2026-11-30T08:00:00.000Z"
         *         },
         *         {
         *           "status": "PAID",
         *           "at": "2026-11-30T08:01:12.345Z"
         *         },
         *         {
         *           "status": "DELIVERING",
         *           "at": "2026-11-30T08:01:12.400Z"
         *         },
         *         {
         *           "status": "DELIVERED",
         *           "at": "2026-11-30T08:01:12.610Z"
         *         }
         *       ],
         *       "routing": {
         *         "candidates": [
         *           {
         *             "channel": "sandbox-cn",
         *             "score": 7,
         *             "feeMinor": 7,
         *             "successRate": 1
         *           },
         *           {
         *             "channel": "sandbox",
         *             "score": 19.26,
         *             "feeMinor": 0,
         *             "successRate": 0.9839
         *           },
         *           {
         *             "channel": "wechat-main",
         *             "score": 7,
         *             "feeMinor": 7,
         *             "successRate": 1,
         *             "excludedBecause": "BREAKER_OPEN"
         *           }
         *         ],
         *         "chosen": "sandbox-cn",
         *         "reason": "CHEAPEST",
         *         "failedOver": [
         *           "sandbox-cn"
         *         ],
         *         "attempts": [
         *           {
         *             "attempt": 1,
         *             "channel": "sandbox-cn",
         *             "outcome": "FAILED",
         *             "at": "2026-11-30T08:00:00.021Z",
         *             "error": "sandbox create payment: HTTP 503"
         *           },
         *           {
         *             "attempt": 2,
         *             "channel": "sandbox",
         *             "outcome": "OPENED",
         *             "at": "2026-11-30T08:00:00.048Z"
         *           }
         *         ]
         *       }
         *     }
         */
        Order: {
            /** Format: uuid */
            orderId: string;
            status: components["schemas"]["OrderStatus"];
            userId: string;
            sku: string;
            quantity: number;
            amount: components["schemas"]["Money"];
            channel: string;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            expiresAt: string;
            /** Format: date-time */
            paidAt?: string;
            /** Format: date-time */
            deliveredAt?: string;
            /** @description the first-purchase bonus this order claimed */
            bonusGrants?: {
                itemId: string;
                quantity: number;
            }[];
            history: {
                status: components["schemas"]["OrderStatus"];
                /** Format: date-time */
                at: string;
                reason?: string;
            }[];
            routing?: components["schemas"]["OrderRouting"];
        };
        /** @description how the channel was chosen (orders created since routing) */
        OrderRouting: {
            /** @description every account considered: the ones tried first, in the order tried, then the others */
            candidates: {
                channel: string;
                /** @description expected cost in the order's minor units: fee + (1 − successRate) × the failure penalty */
                score: number;
                /** @description the fee for this order, rounded half up to the minor unit */
                feeMinor: number;
                /** @description recent create attempts that opened the payment, with a prior for new accounts */
                successRate: number;
                /**
                 * @description why the account was not tried
                 * @enum {string}
                 */
                excludedBecause?: "DISABLED" | "PLATFORM" | "REGION" | "CURRENCY" | "GAME_POLICY" | "PRICE_CHANNEL" | "NO_STORE_PRODUCT" | "BREAKER_OPEN" | "BREAKER_HALF_OPEN" | "STORE_CHANNEL" | "NOT_REQUESTED" | "FALLBACK_ONLY";
            }[];
            /** @description the router's choice (the first account tried) */
            chosen: string;
            /**
             * @description cheapest expected cost, exploration share, half-open probe, the game named it, or every account that could take it was cut off by its breaker
             * @enum {string}
             */
            reason?: "CHEAPEST" | "EXPLORATION" | "PROBE" | "REQUESTED" | "LAST_RESORT";
            /** @description accounts that failed to open the payment, in the order tried */
            failedOver?: string[];
            /** @description each attempt to open the payment (CLOSED_LATE: it opened after the order moved on, and was closed) */
            attempts: {
                attempt: number;
                channel: string;
                /** @enum {string} */
                outcome: "OPENED" | "FAILED" | "TIMED_OUT" | "CLOSED_LATE";
                /** Format: date-time */
                at: string;
                error?: string;
            }[];
        };
        OpsOrderSummary: {
            /** Format: uuid */
            orderId: string;
            gameId: string;
            userId: string;
            sku: string;
            status: components["schemas"]["OrderStatus"];
            statusReason?: string;
            amount: components["schemas"]["Money"];
            channel: string;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            /** @description the order's Temporal workflow id (`temporal workflow show`) */
            workflowId: string;
        };
        OpsOrderStory: {
            order: {
                /** Format: uuid */
                orderId: string;
                gameId: string;
                userId: string;
                sku: string;
                status: components["schemas"]["OrderStatus"];
                statusReason?: string;
                amount: components["schemas"]["Money"];
                channel: string;
                /** Format: date-time */
                createdAt: string;
                /** Format: date-time */
                updatedAt: string;
                /** @description the order's Temporal workflow id (`temporal workflow show`) */
                workflowId: string;
                quantity: number;
                region: string;
                paid?: components["schemas"]["Money"];
                channelPaymentId?: string;
                channelTradeNo?: string;
                /** Format: date-time */
                expiresAt: string;
            };
            risk?: components["schemas"]["OpsOrderRisk"];
            /** @description the operators' actions the order's status allows now */
            actions: ("RETRY_DELIVERY" | "REFUND" | "RESOLVE" | "CLOSE")[];
            /** @description oldest first */
            timeline: {
                /** Format: date-time */
                at: string;
                /** @enum {string} */
                kind: "CREATED" | "ROUTING" | "PAYMENT_OPEN" | "NOTIFICATION" | "PAYMENT_RESULT" | "STATUS" | "DELIVERY" | "REFUND" | "REVOCATION" | "OPS_ACTION";
                title: string;
                detail?: string;
                amount?: components["schemas"]["Money"];
            }[];
            opsActions: {
                operator: string;
                action: string;
                reason: string;
                outcome: string;
                detail?: string;
                /** Format: date-time */
                at: string;
            }[];
            ledger: {
                eventId: string;
                kind: string;
                postings: {
                    account: string;
                    currency: string;
                    debit: number;
                    credit: number;
                }[];
            }[];
            differences: {
                differenceId: string;
                /** Format: uuid */
                runId: string;
                kind: string;
                resolution: string;
                channelTradeNo?: string;
                currency?: string;
                ours?: string;
                theirs?: string;
            }[];
        };
        /**
         * @description Kept when a rule applied to the order as it was checked; absent otherwise (a blacklist, built-in guard or minor cap refusal is its `statusReason`).
         * @example {
         *       "decision": "REVIEW",
         *       "reasons": [
         *         "VELOCITY"
         *       ],
         *       "hits": [
         *         {
         *           "ruleId": "velocity-user-10m",
         *           "kind": "VELOCITY",
         *           "action": "REVIEW",
         *           "figures": {
         *             "orders": 11,
         *             "max": 10
         *           }
         *         }
         *       ],
         *       "decidedAt": "2026-12-07T09:30:00.000Z",
         *       "operatorDecision": {
         *         "decision": "APPROVE",
         *         "operator": "alice",
         *         "reason": "known player, card verified by phone, ticket RISK-88",
         *         "at": "2026-12-07T09:41:12.000Z"
         *       }
         *     }
         */
        OpsOrderRisk: {
            /** @enum {string} */
            decision: "ALLOW" | "REVIEW" | "DENY";
            /** @description the blacklist kinds, the built-in guard and the rule kinds that hit */
            reasons: string[];
            hits: {
                ruleId: string;
                kind: string;
                /** @enum {string} */
                action: "REVIEW" | "DENY";
                /** @description the counts and amounts (minor units) the rule weighed, never an IP or a device */
                figures: {
                    [key: string]: number;
                };
            }[];
            /** Format: date-time */
            decidedAt: string;
            /** @description the operator's decision on a review hold (the first one stands) */
            operatorDecision?: {
                /** @enum {string} */
                decision: "APPROVE" | "DENY";
                operator: string;
                reason: string;
                /** Format: date-time */
                at: string;
            };
        };
        ConsoleSession: {
            name: string;
            /** @example admin */
            role: string;
            /** @description what the console may show and do */
            permissions: ("orders:read" | "orders:act" | "channels:read" | "finance:read" | "finance:act" | "admin")[];
            /** Format: date-time */
            expiresAt: string;
        };
        /**
         * @example {
         *       "cards": [
         *         {
         *           "cardId": "mc_5b1f0c9e2d7a4e3f8a6b1c0d9e8f7a6b",
         *           "sku": "monthly-card-30",
         *           "startedAt": "2026-12-01T07:12:40.000Z",
         *           "endsAt": "2026-12-30T21:00:00.000Z",
         *           "daysGranted": 7,
         *           "daysRemaining": 23,
         *           "nextGrantAt": "2026-12-07T21:00:00.000Z"
         *         }
         *       ]
         *     }
         * @example {
         *       "cards": []
         *     }
         */
        MonthlyCards: {
            cards: components["schemas"]["MonthlyCard"][];
        };
        MonthlyCard: {
            /** @description one card per game, user and sku; a card day is delivered with deliveryId `<cardId>:<day>` */
            cardId: string;
            sku: string;
            /**
             * Format: date-time
             * @description when the card's current term began (its day 1, or a purchase after it had lapsed)
             */
            startedAt: string;
            /**
             * Format: date-time
             * @description when its last day ends (each purchase while it runs moves this by its days)
             */
            endsAt: string;
            /** @description days of this term the game server took */
            daysGranted: number;
            /** @description days still to deliver (a refunded purchase drops its days not yet granted) */
            daysRemaining: number;
            /**
             * Format: date-time
             * @description when the next day is due (in the past: being delivered now); absent when none is left
             */
            nextGrantAt?: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "sku": "gems-60",
         *           "name": "60 Gems",
         *           "kind": "CONSUMABLE",
         *           "price": {
         *             "currency": "CNY",
         *             "value": 600
         *           },
         *           "grants": [
         *             {
         *               "itemId": "gems",
         *               "quantity": 60
         *             }
         *           ],
         *           "bonusGrants": [
         *             {
         *               "itemId": "gems",
         *               "quantity": 60
         *             }
         *           ],
         *           "stockRemaining": null
         *         },
         *         {
         *           "sku": "winter-pack",
         *           "name": "Winter pack",
         *           "kind": "BUNDLE",
         *           "price": {
         *             "currency": "CNY",
         *             "value": 3000
         *           },
         *           "grants": [
         *             {
         *               "itemId": "gems",
         *               "quantity": 300
         *             },
         *             {
         *               "itemId": "skin-snow",
         *               "quantity": 1
         *             }
         *           ],
         *           "stockRemaining": 42,
         *           "userRemaining": {
         *             "daily": 1,
         *             "lifetime": 2
         *           },
         *           "saleEndsAt": "2026-12-31T16:00:00.000Z"
         *         },
         *         {
         *           "sku": "no-ads",
         *           "name": "No ads",
         *           "kind": "NON_CONSUMABLE",
         *           "price": {
         *             "currency": "CNY",
         *             "value": 1800
         *           },
         *           "grants": [
         *             {
         *               "itemId": "no-ads",
         *               "quantity": 1
         *             }
         *           ],
         *           "stockRemaining": null,
         *           "owned": true
         *         }
         *       ]
         *     }
         */
        Storefront: {
            items: components["schemas"]["StorefrontItem"][];
        };
        StorefrontItem: {
            sku: string;
            name: string;
            /** @enum {string} */
            kind: "CONSUMABLE" | "NON_CONSUMABLE" | "BUNDLE" | "MONTHLY_CARD";
            /** @description the unit price in force now for this region and channel type */
            price: components["schemas"]["Money"];
            /** @description what one unit grants */
            grants: {
                itemId: string;
                quantity: number;
            }[];
            /** @description the first-purchase bonus this player's next order of the item would claim */
            bonusGrants?: {
                itemId: string;
                quantity: number;
            }[];
            /** @description units left to sell (0: sold out); null: unlimited */
            stockRemaining: number | null;
            /** @description units this player may still buy today (the game's day) and ever, for items with per-user limits */
            userRemaining?: {
                daily?: number;
                lifetime?: number;
            };
            /**
             * Format: date-time
             * @description the earlier end of the sale window and of the price in force
             */
            saleEndsAt?: string;
            /**
             * @description a non-consumable the player holds or has an unpaid order of
             * @constant
             */
            owned?: true;
        };
        DeliveryAckAnswer: {
            deliveryId: string;
            orderId: string;
            /**
             * @description GRANTED: the goods are the player's (the order becomes DELIVERED); REJECTED: the game cannot take them (refunded at once, DELIVERY_REJECTED)
             * @enum {string}
             */
            result: "GRANTED" | "REJECTED";
            /**
             * Format: date-time
             * @description when the first ack was recorded (the same on every repeat)
             */
            acknowledgedAt: string;
        };
        RevocationAckAnswer: {
            revocationId: string;
            orderId: string;
            /**
             * @description the goods are taken back: the revocation is done
             * @constant
             */
            status: "REVOKED";
            /**
             * Format: date-time
             * @description when the first ack was recorded (the same on every repeat)
             */
            acknowledgedAt: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
