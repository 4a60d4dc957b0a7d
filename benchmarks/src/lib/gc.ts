/** Collects garbage when the process runs with `--expose-gc` (the `bench` script does), so that one batch's garbage is not paid by the next. */
export function settle(): void {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect) {
    collect()
    collect()
  }
}
