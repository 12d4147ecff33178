/**
 * The function tools' public face. The model activity reads `TOOLS[name].description` and
 * `toolJsonSchema(name)` to offer tools; the activities factory calls `createToolRunner(store)`.
 */
export {
  TOOLS,
  TOOL_NAMES,
  isToolName,
  toolCallSummary,
  toolJsonSchema,
  type ToolJsonSchema,
  type ToolName,
} from './registry';
export { createToolRunner, type ToolRunner, type ToolRunnerOptions } from './runner';
export type { ToolContext, ToolDefinition, ToolOutcome } from './define';
export { createHelpDocs, loadHelpArticles, type HelpArticle, type HelpDocs, type HelpHit } from './help-docs';
