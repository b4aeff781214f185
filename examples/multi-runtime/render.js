// Renders the site's one page at build time; only the HTML ships.
const runtimes = [
  ["Node.js " + process.version, "rendered this page while the image was built"],
  ["Python", "serves it from the image"],
];
const items = runtimes.map(([name, role]) => `    <li><b>${name}</b> ${role}</li>`).join("\n");
process.stdout.write(`<!doctype html>
<html>
  <head><meta charset="utf-8"><title>multi-runtime</title></head>
  <body>
  <ul>
${items}
  </ul>
  </body>
</html>
`);
