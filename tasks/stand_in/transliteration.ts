/**
 * Transliteration for the stand-in's email local parts: Cyrillic, Persian, accented Latin and the
 * rest folded to ASCII (the names themselves stay in their own script, as randomuser.me does).
 *
 * @module
 */

const TRANSLITERATION: Readonly<Record<string, string>> = {
  // Cyrillic (Ukrainian, plus Russian letters faker may emit)
  а: "a",
  б: "b",
  в: "v",
  г: "h",
  ґ: "g",
  д: "d",
  е: "e",
  є: "ye",
  ж: "zh",
  з: "z",
  и: "y",
  і: "i",
  ї: "yi",
  й: "y",
  к: "k",
  л: "l",
  м: "m",
  н: "n",
  о: "o",
  п: "p",
  р: "r",
  с: "s",
  т: "t",
  у: "u",
  ф: "f",
  х: "kh",
  ц: "ts",
  ч: "ch",
  ш: "sh",
  щ: "shch",
  ю: "yu",
  я: "ya",
  ё: "e",
  ы: "y",
  э: "e",
  // Persian
  "ا": "a",
  "آ": "a",
  "أ": "a",
  "إ": "e",
  "ب": "b",
  "پ": "p",
  "ت": "t",
  "ث": "s",
  "ج": "j",
  "چ": "ch",
  "ح": "h",
  "خ": "kh",
  "د": "d",
  "ذ": "z",
  "ر": "r",
  "ز": "z",
  "ژ": "zh",
  "س": "s",
  "ش": "sh",
  "ص": "s",
  "ض": "z",
  "ط": "t",
  "ظ": "z",
  "غ": "gh",
  "ف": "f",
  "ق": "gh",
  "ک": "k",
  "ك": "k",
  "گ": "g",
  "ل": "l",
  "م": "m",
  "ن": "n",
  "و": "v",
  "ه": "h",
  "ة": "h",
  "ی": "y",
  "ي": "y",
  "ئ": "y",
  // Latin letters that do not decompose
  ø: "o",
  æ: "ae",
  œ: "oe",
  ß: "ss",
  ı: "i",
  đ: "d",
  ł: "l",
  þ: "th",
  ð: "d",
};

/** Lower-case ASCII letters and digits for an email local part, e.g. "Müller-Lüdenscheidt" → "mullerludenscheidt". */
export function asciiFold(text: string): string {
  const lower = text.toLowerCase().normalize("NFD");
  let out = "";
  for (const char of lower) {
    const code = char.charCodeAt(0);
    if ((code >= 97 && code <= 122) || (code >= 48 && code <= 57)) out += char;
    else out += TRANSLITERATION[char] ?? "";
  }
  return out;
}
