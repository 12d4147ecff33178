/**
 * The function tools' public face. The model activity reads `TOOLS[name].description` and
 * `toolJsonSchema(name)` to offer tools; the activities factory calls `createToolRunner(store)`.
 */
export { TOOLS, toolJsonSchema, type ToolJsonSchema } from './registry';
export { createToolRunner, type ToolRunner, type ToolRunnerOptions } from './runner';
export type { ToolContext, ToolDefinition, ToolOutcome } from './define';
export { createHelpDocs, loadHelpArticles, type HelpArticle, type HelpDocs, type HelpHit } from './help-docs';
