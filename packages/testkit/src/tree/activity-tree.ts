import type { ActivityStatus, ActivityStore, ActivitySummary } from '@runner/core'

/** One run or task of a tree, with the runs and tasks started inside it. */
export interface ActivityTreeNode {
  agentId: string
  agentType: string
  status: ActivityStatus
  message: string
  children: ActivityTreeNode[]
}

/**
 * The tree of runs and tasks under `rootId`: each activity's children are those whose
 * `metadata.parentId` names it (child runs and child tasks), oldest first. For tests and tools:
 * `expect(await activityTree(store, id)).toMatchObject({ children: [{ status: 'complete' }] })`.
 * Follows at most `maxDepth` levels (default 20) and 1,000 children per activity.
 */
export async function activityTree(
  store: ActivityStore,
  rootId: string,
  options: { maxDepth?: number } = {},
): Promise<ActivityTreeNode | undefined> {
  const root = await store.get(rootId)
  if (!root) return undefined
  return nodeOf(store, root, options.maxDepth ?? 20, new Set([rootId]))
}

async function nodeOf(
  store: ActivityStore,
  activity: ActivitySummary,
  depth: number,
  seen: Set<string>,
): Promise<ActivityTreeNode> {
  const node: ActivityTreeNode = {
    agentId: activity.agentId,
    agentType: activity.agentType,
    status: activity.status,
    message: activity.message,
    children: [],
  }
  if (depth <= 0) return node
  const { items } = await store.list({ metadata: { parentId: activity.agentId }, limit: 1000 })
  const children = items
    .filter((child) => !seen.has(child.agentId))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.agentId.localeCompare(b.agentId))
  for (const child of children) {
    seen.add(child.agentId)
    node.children.push(await nodeOf(store, child, depth - 1, seen))
  }
  return node
}

/** The tree as indented lines, `status agentType: message` each: for snapshots and logs. */
export function formatActivityTree(node: ActivityTreeNode, indent = ''): string {
  const line = `${indent}${node.status} ${node.agentType}: ${node.message}`
  return [line, ...node.children.map((child) => formatActivityTree(child, `${indent}  `))].join('\n')
}
