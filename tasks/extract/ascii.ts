/**
 * The ASCII codes the extract's byte readers look for in a page's UTF-8 bytes (JSON's structure
 * and the characters of numbers, CSV's separators): one name each, shared by `api_page.ts`,
 * `byte_path/csv_byte_encoder.ts` and `value_bytes.ts`.
 *
 * @module
 */
export const LF = 10;
export const CR = 13;
export const QUOTE = 34;
export const PLUS = 43;
export const COMMA = 44;
export const MINUS = 45;
export const DOT = 46;
export const ZERO = 48;
export const NINE = 57;
export const COLON = 58;
export const UPPER_T = 84;
export const UPPER_Z = 90;
export const OPEN_BRACKET = 91;
export const BACKSLASH = 92;
export const CLOSE_BRACKET = 93;
export const OPEN_BRACE = 123;
export const CLOSE_BRACE = 125;
