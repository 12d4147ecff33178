/** What the worker loads into the workflow sandbox. */
export { conversation } from './conversation';
