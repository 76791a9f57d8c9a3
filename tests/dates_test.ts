import assert from "node:assert/strict";
import {
  dateRange,
  dayCount,
  isWithin,
  logicalDateBounds,
  WAREHOUSE_DATE_BOUNDS,
} from "../tasks/shared/dates.ts";

Deno.test("logical dates run from 2000-01-01 to tomorrow, UTC", () => {
  const bounds = logicalDateBounds(new Date("2026-12-03T23:59:59Z"));
  assert.deepEqual(bounds, { first: "2000-01-01", last: "2026-12-04" });
  assert.deepEqual(
    ["1999-12-31", "2000-01-01", "2026-12-04", "2026-12-05"].map((ds) => isWithin(ds, bounds)),
    [false, true, true, false],
  );
  assert.equal(logicalDateBounds(new Date("2026-12-31T00:00:00Z")).last, "2027-01-01");
});

Deno.test("PostgreSQL's dates start at 0001-01-01: there is no year 0000", () => {
  assert.deepEqual(
    ["0000-01-01", "0000-12-31", "0001-01-01", "9999-12-31"].map((ds) =>
      isWithin(ds, WAREHOUSE_DATE_BOUNDS)
    ),
    [false, false, true, true],
  );
});

Deno.test("a date range ends at its last date, even the last date of four-digit years", () => {
  assert.deepEqual(dateRange("2026-02-27", "2026-03-01"), [
    "2026-02-27",
    "2026-02-28",
    "2026-03-01",
  ]);
  assert.deepEqual(dateRange("9999-12-30", "9999-12-31"), ["9999-12-30", "9999-12-31"]);
  assert.deepEqual(dateRange("2026-01-02", "2026-01-01"), []);
  assert.equal(dayCount("2000-01-01", "2000-12-31"), 366);
  assert.equal(dayCount("2026-01-02", "2026-01-01"), 0);
});
