/**
 * Checks on a value's UTF-8 bytes, for the extract's byte path (`csv_byte_encoder.ts`): the strict
 * decoder's UTF-8 rules, and the one timestamp shape the API writes.
 *
 * @module
 */
import { COLON, DOT, MINUS, UPPER_T, UPPER_Z, ZERO } from "../ascii.ts";

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The two-digit number at `bytes[at]`, or -1. */
function twoDigits(bytes: Uint8Array, at: number): number {
  const tens = bytes[at]! - ZERO;
  const ones = bytes[at + 1]! - ZERO;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/**
 * Whether `bytes[start, end)` is an instant as the API writes them, `YYYY-MM-DDTHH:MM:SS.sssZ`,
 * of a real date and time after year 0: such a text `isStorableTimestamp` takes (its pattern's
 * leap years are the Gregorian ones), checked without making it a string. False says nothing:
 * other texts go to `isStorableTimestamp` itself.
 */
export function isPlainUtcTimestamp(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== 24) return false;
  const at = start;
  if (
    bytes[at + 4] !== MINUS || bytes[at + 7] !== MINUS || bytes[at + 10] !== UPPER_T ||
    bytes[at + 13] !== COLON || bytes[at + 16] !== COLON || bytes[at + 19] !== DOT ||
    bytes[at + 23] !== UPPER_Z
  ) {
    return false;
  }
  const century = twoDigits(bytes, at);
  const year = twoDigits(bytes, at + 2);
  const month = twoDigits(bytes, at + 5);
  const day = twoDigits(bytes, at + 8);
  const hour = twoDigits(bytes, at + 11);
  const minute = twoDigits(bytes, at + 14);
  const second = twoDigits(bytes, at + 17);
  const milli = twoDigits(bytes, at + 20);
  const thousandth = bytes[at + 22]! - ZERO;
  if (century < 0 || year < 0 || (century === 0 && year === 0)) return false;
  if (month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return false;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  if (milli < 0 || thousandth < 0 || thousandth > 9) return false;
  const leap = year === 0 ? century % 4 === 0 : year % 4 === 0;
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!);
}

/** Whether `bytes[start, end)` is well-formed UTF-8, as the strict `TextDecoder` demands. */
export function isUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let count: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) count = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      count = 2;
      if (lead === 0xe0) low = 0xa0; // no overlong forms
      if (lead === 0xed) high = 0x9f; // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      count = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f; // nothing past U+10FFFF
    } else return false;
    if (i + count >= end) return false;
    const second = bytes[i + 1]!;
    if (second < low || second > high) return false;
    for (let k = 2; k <= count; k++) {
      const next = bytes[i + k]!;
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += count + 1;
  }
  return true;
}
