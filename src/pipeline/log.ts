/**
 * The library's log lines come in two weights. 'info' is what a front end shows as a matter of course
 * (which provider ran, a download starting); 'debug' is detail for whoever investigates a problem
 * (each provider's full error, with ONNX Runtime's C++ locations), which the CLI prints only with
 * --verbose and the extension keeps in its output channel with the rest.
 */
export type LogLevel = 'info' | 'debug';

/** Where log lines go; a line without a level is 'info', so a plain `(line) => …` sink takes both. */
export type LogSink = (line: string, level?: LogLevel) => void;
