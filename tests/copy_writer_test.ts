/**
 * The COPY writer's promise to its callers: a chunk's buffer may be reused as soon as `write`
 * returns. The extract recycles its pages' buffers right after writing them; when postgres.js
 * still had an earlier write on its way, its stream kept the chunk by reference, so the server
 * got bytes written over since (or the COPY stalled for good, when the buffer had moved to a
 * worker): the chaos suite's faulted runs hung about one time in eight.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CopyWriter } from "../tasks/load/copy_writer.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";

Deno.test("a chunk's buffer may be rewritten, or detached, as soon as write returns", async () => {
  await using db = await createTestDatabase();
  await db.sql`create table copied (n int, label text)`;
  const copy = await CopyWriter.open(db.sql`copy copied from stdin with (format csv)`);
  const encoder = new TextEncoder();
  const sent = createHash("sha256");
  let buffer = new Uint8Array(64);
  for (let n = 0; n < 3_000; n++) {
    const line = encoder.encode(`${n},row ${n}\n`);
    buffer.set(line);
    sent.update(line);
    // No await that yields to the event loop between writes: the first is still on its way.
    await copy.write(buffer.subarray(0, line.length));
    if (n % 2 === 0) buffer.fill(0x21); // "!!!!": not CSV the table takes
    else buffer = new Uint8Array(buffer.buffer.transfer(64)); // the old view is detached
  }
  const copied = await copy.end();
  assert.equal(copied.sha256, sent.digest("hex"));
  const [table] = await db.sql<{ rows: number; sum: string; labels: number }[]>`
    select count(*)::int as rows, sum(n)::text as sum,
           count(*) filter (where label = 'row ' || n)::int as labels
    from copied`;
  assert.deepEqual(table, { rows: 3_000, sum: String((2_999 * 3_000) / 2), labels: 3_000 });
});
