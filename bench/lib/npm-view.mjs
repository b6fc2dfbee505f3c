// Reads `npm view NAME@VERSION --json` on stdin; prints a compact summary
// as JSON, or `null` when npm found no such version (or could not answer).
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  let v = null;
  try {
    v = JSON.parse(input);
  } catch {
    v = null;
  }
  if (!v || v.error || !v.version) {
    console.log("null");
    return;
  }
  console.log(
    JSON.stringify({
      version: v.version,
      main: v.main ?? null,
      module: v.module ?? null,
      fileCount: v.dist?.fileCount ?? null,
      unpackedSize: v.dist?.unpackedSize ?? null,
      tarball: v.dist?.tarball ?? null,
      dependencies: Object.keys(v.dependencies ?? {}),
    })
  );
});
