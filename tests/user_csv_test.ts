import assert from "node:assert/strict";
import { AtomicFile } from "../tasks/shared/atomic_file.ts";
import { csvLine } from "../tasks/extract/csv_text.ts";

function encode(rows: Array<Array<string | number | null>>, columns: string[]): string {
  return [columns, ...rows].map(csvLine).join("");
}

Deno.test("NULL is an unquoted empty field and the empty string a quoted one", () => {
  const csv = encode([["a", "", null, 7]], ["w", "x", "y", "z"]);
  assert.equal(csv, 'w,x,y,z\r\na,"",,7\r\n');
});

Deno.test("quotes, separators, line breaks and COPY's end marker are quoted", () => {
  const csv = encode([['say "hi"', "a,b", "line\nbreak", "cr\rhere", "\\."]], [
    "a",
    "b",
    "c",
    "d",
    "e",
  ]);
  assert.equal(csv, 'a,b,c,d,e\r\n"say ""hi""","a,b","line\nbreak","cr\rhere","\\."\r\n');
});

Deno.test("an aborted atomic file leaves the previous file and no temporary behind", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/out.csv`;
  await Deno.writeTextFile(path, "previous");
  const file = await AtomicFile.create(path);
  await ReadableStream.from([new TextEncoder().encode("partial")]).pipeTo(file.writable);
  assert.equal(await Deno.readTextFile(path), "previous");
  await file.abort();
  assert.equal(await Deno.readTextFile(path), "previous");
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out.csv"]);
  const next = await AtomicFile.create(path);
  await ReadableStream.from([new TextEncoder().encode("complete")]).pipeTo(next.writable);
  await next.commit();
  assert.equal(await Deno.readTextFile(path), "complete");
  assert.equal(next.bytes, 8);
  await Deno.remove(dir, { recursive: true });
});
