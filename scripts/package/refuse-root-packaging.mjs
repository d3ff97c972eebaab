// `vsce package` or `vsce publish` run at the repository's root would pack every platform's native
// binaries, the sources and the caches into one VSIX (117 MB). vsce runs this first (vscode:prepublish)
// and stops there; scripts/package.ts packs from staging folders whose manifest has no scripts.
console.error(
  'Package with `npm run package` (or `npm run package -- --target <platform>`): it builds one VSIX per platform, ' +
    'each with only that platform\'s native binaries, into out/vsix/. Publish those files (vsce publish --packagePath …).',
);
process.exit(1);
