/**
 * Every route module of the gateway, registered in this order by `app.ts`.
 * To add an area: create `routes/<area>.ts` exporting
 * `default async function routes(app: FastifyInstance, deps: GatewayDeps)`
 * and add one line below. Routes are authenticated by default
 * (`request.principal`); mark public ones with `config: { public: true }` and
 * admin-only ones with `config: { admin: true }`. Reply errors with
 * `replyError()` from `./errors.js`.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import adminKeys from './admin-keys.js';
import messages from './messages.js';
import sessions from './sessions.js';
import system from './system.js';
import telegramLogin from './telegram-login.js';
import webhooks from './webhooks.js';

/** A route module. */
export type RouteModule = (app: FastifyInstance, deps: GatewayDeps) => Promise<void>;

/** Route modules, in registration order. */
export const routeModules: RouteModule[] = [
  system,
  telegramLogin,
  sessions,
  adminKeys,
  messages,
  webhooks,
];
