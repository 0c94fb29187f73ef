/*
 * console_app.h — vigil-console as a program: options, the agent
 * connection, the loop that serves the broker, the keys and the screen (or
 * --plain lines), and a clean exit on q, SIGINT or SIGTERM.
 *
 *   vigil-console -c agent.conf [--plain] [--oversight]
 *
 * The console connects as the agency's delivery target and event
 * subscriber (vga_options receive and events): it must hold an alert in the
 * agency's inbox to acknowledge it. Alerts it receives stay unsurfaced, so
 * `vigil-agent listen` of the same agency still prints them. In the
 * full-screen mode the library's log lines go to <store>/console.log, so
 * they never garble the screen; with --plain they go to stderr.
 *
 * Exit status: the toolkit's (agents/common/tool.h) VGT_EXIT_OK (0, quit),
 * VGT_EXIT_FAIL (1, failed), VGT_EXIT_USAGE (2, bad command line) and
 * VGT_EXIT_CONFIG (4, agent.conf, keys, network document or store
 * unusable), as vigil-agent's; it never exits 3. Errors are the toolkit's
 * "vigil-console: what was wrong: what to do" lines.
 * Owns everything it opens; one thread; the toolkit's stop flag is its
 * only global.
 */
#ifndef VIGIL_AGENTS_CONSOLE_APP_H
#define VIGIL_AGENTS_CONSOLE_APP_H

/* Runs the console; returns the exit status. */
int vgc_main(int argc, char **argv);

#endif
