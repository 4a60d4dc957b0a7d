import { readFile } from 'node:fs/promises'

/** The page's files, shipped prebuilt in the package's `web/` folder. */
const WEB = new URL('../web/', import.meta.url)

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
}

/** The files served, by URL path; any other path without an extension is the page (its own routes). */
const FILES = new Map([
  ['/', 'index.html'],
  ['/index.html', 'index.html'],
  ['/app.js', 'app.js'],
  ['/app.css', 'app.css'],
  ['/favicon.svg', 'favicon.svg'],
])

const cache = new Map<string, Promise<Uint8Array>>()

/** A file of the page, or 404. */
export async function serveAsset(path: string): Promise<Response> {
  const name = FILES.get(path) ?? (/\.[a-z0-9]+$/i.test(path) ? undefined : 'index.html')
  if (name === undefined) return new Response('Not found', { status: 404 })
  let bytes = cache.get(name)
  if (!bytes) {
    bytes = readFile(new URL(name, WEB)).then((buffer) => new Uint8Array(buffer))
    cache.set(name, bytes)
    bytes.catch(() => cache.delete(name))
  }
  let body: Uint8Array
  try {
    body = await bytes
  } catch {
    return new Response('Not found', { status: 404 })
  }
  const extension = name.slice(name.lastIndexOf('.') + 1)
  return new Response(body as unknown as ConstructorParameters<typeof Response>[0], {
    headers: {
      'content-type': TYPES[extension] ?? 'application/octet-stream',
      'cache-control': extension === 'html' ? 'no-cache' : 'public, max-age=300',
    },
  })
}
