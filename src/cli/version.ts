/**
 * The version --version prints. A named import from package.json: esbuild copies only this field into
 * dist/cli.js (not the extension's whole manifest), and it cannot drift from the package it ships in.
 */
import { version } from '../../package.json';

export const CLI_VERSION: string = version;
