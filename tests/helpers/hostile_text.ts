/**
 * Text built to break CSV, COPY, SQL and UTF-8 handling — quotes, separators, line breaks, COPY's
 * markers, SQL and template fragments, right-to-left and astral text, 100 kB strings — every one
 * of which PostgreSQL text can hold, so each must round-trip byte for byte.
 *
 * @module
 */

/** 100 kB of text that does not compress: letters, CSV and COPY specials, multi-byte and astral. */
function hundredKilobytes(seed: number): string {
  const alphabet = [..."abcXYZ019 ,\"'\t\r\n\\.;—éß中文עبر😀𝔘\u200F"];
  let state = seed;
  let text = "";
  while (text.length < 100_000) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    text += alphabet[state % alphabet.length];
  }
  return text;
}

/** Values that round-trip exactly; each goes to one user's names, city and street. */
export const HOSTILE_TEXT: readonly string[] = [
  `O'Brien, "Jr."`,
  `"`,
  `""`,
  ",",
  "'",
  "line\nbreak",
  "carriage\rreturn alone",
  "crlf\r\nin the middle",
  "\r\n",
  "tab\there",
  "back\\slash",
  "\\.",
  "x\n\\.\ny",
  "\\N",
  "NULL",
  "",
  "  spaced  ",
  "Robert'); drop table raw.users; --",
  "1; delete from raw.users where true",
  "$$ || pg_sleep(10) || $$",
  "{{ env_var('DBT_PASSWORD') }} {% raw %} %s ${x}",
  "emoji 👩‍👩‍👧 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🀄",
  "עברית right-to-left مرحبا",
  "\u202Eoverride\u202C and \u200F marks",
  "\uFEFFbyte order mark first",
  "line\u2028separator\u2029",
  "e\u0301 combining",
  hundredKilobytes(1),
  hundredKilobytes(2),
];
