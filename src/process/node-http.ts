/**
 * node:http's values, loaded with require. Importing node:http as an ES module builds its module
 * facade, which reads every export; three of them (WebSocket, CloseEvent, MessageEvent) are lazy
 * getters that load the runtime's fetch library, about 60 ms of CPU at every start for classes
 * Isthmus never uses. Types still come from `import type ... from 'node:http'` (erased).
 */
import { createRequire } from 'node:module';
import type * as Http from 'node:http';

const http = createRequire(import.meta.url)('node:http') as typeof Http;

export const createServer: typeof Http.createServer = http.createServer;
export const request: typeof Http.request = http.request;
