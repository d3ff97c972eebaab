import * as vscode from 'vscode';
import { SECTION, settingsFrom, type Settings } from './settingsTable.js';

export { SECTION, type Settings } from './settingsTable.js';

/** The one place settings are read: the table in settingsTable.ts says what each may hold. */
export function readSettings(scope?: vscode.Uri): Settings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  return settingsFrom((key) => config.get<unknown>(key));
}
