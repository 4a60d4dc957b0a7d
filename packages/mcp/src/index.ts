export {
  connectMcp,
  type McpConnection,
  type McpHttpServerOptions,
  type McpServerOptions,
  type McpStdioServerOptions,
} from './connect.js'
export { mcpResultText } from './content.js'
export { type McpToolsOptions, mcpTools } from './mcp-tools.js'
