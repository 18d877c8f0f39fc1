/** Markdown files, imported as their text (karma.conf.js: esbuild's text loader). */
declare module '*.md' {
  const text: string;
  export default text;
}
