import assert from "node:assert/strict";
import { SecretMask } from "../tasks/shared/secret_mask.ts";
import { TryOutput } from "../pipelines/try_output.ts";

const encoder = new TextEncoder();
const SECRET = "console-token-0123456789";

/** Feeds `text` to `output` on `stream` in chunks of `size` bytes. */
function feed(output: TryOutput, stream: "stdout" | "stderr", text: string, size = 7): void {
  const bytes = encoder.encode(text);
  for (let i = 0; i < bytes.length; i += size) output.write(stream, bytes.subarray(i, i + size));
}

Deno.test("a try's output keeps every line of both streams, in order, with URL passwords and secrets hidden across chunk boundaries", () => {
  const output = new TryOutput({ mask: new SecretMask([SECRET]) });
  feed(output, "stderr", "level=info msg=start url=postgres://app:hunter2@db:5432/x\n");
  feed(output, "stdout", `token ${SECRET} printed\n`);
  feed(output, "stderr", "café ✓ — multi-byte split across chunks\r\nerror: no final newline");
  assert.equal(
    output.text(),
    [
      "level=info msg=start url=postgres://app:***@db:5432/x",
      "token *** printed",
      "café ✓ — multi-byte split across chunks",
      "error: no final newline",
    ].join("\n"),
  );
});

Deno.test("a long output keeps its first and last lines and says how much it left out", () => {
  const output = new TryOutput({ mask: new SecretMask(), headChars: 100, tailChars: 200 });
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, "0")}`);
  feed(output, "stderr", lines.join("\n") + "\n", 64);
  const kept = output.text().split("\n");
  // 9 characters a line and its newline: 10 fit in the head, 20 in the tail.
  assert.deepEqual(kept.slice(0, 10), lines.slice(0, 10));
  assert.equal(
    kept[10],
    "… 970 lines (9700 characters) left out here; the try's log file has them …",
  );
  assert.deepEqual(kept.slice(11), lines.slice(-20));
  assert.ok(output.text().length < 100 + 200 + 100);
});

Deno.test("a line past the line limit is cut, and a URL or a secret cut in two shows no part of its password", () => {
  const mask = new SecretMask([SECRET]);
  for (
    const [text, cutAt] of [
      ["x".repeat(30) + " postgres://app:hunter2-long-password@db/x and more", 52],
      ["y".repeat(30) + ` ${SECRET} and more`, 40],
    ] as const
  ) {
    const output = new TryOutput({ mask, lineChars: cutAt });
    feed(output, "stdout", text + "\n" + "next line\n", 5);
    const [first, second] = output.text().split("\n");
    assert.match(first!, new RegExp(` … \\(line cut at ${cutAt} characters\\)$`));
    for (const secretPart of ["hunt", "console-t", SECRET.slice(0, 4)]) {
      assert.ok(!first!.includes(secretPart), `${JSON.stringify(first)} shows ${secretPart}`);
    }
    assert.equal(second, "next line", "the rest of the cut line is dropped, the next line kept");
  }
});

Deno.test("SecretMask.redactAll hides secrets in every string of a record and keeps the rest", () => {
  const mask = new SecretMask([SECRET]);
  const when = new Date("2026-01-02T00:00:00Z");
  assert.deepEqual(
    mask.redactAll({
      error: `bad ${SECRET}`,
      rows: 3,
      at: when,
      tries: [{ output: "postgres://u:pw@h/db" }, { output: null }],
    }),
    {
      error: "bad ***",
      rows: 3,
      at: when,
      tries: [{ output: "postgres://u:***@h/db" }, { output: null }],
    },
  );
});
