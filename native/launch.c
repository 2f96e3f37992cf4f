/*
 * svcmove-launch: start a service as PID 1 of a new cell (PID, UTS, IPC and
 * time namespaces, inside the cell's network namespace) on behalf of the
 * agent, which must not fork from the JVM.
 *
 *   svcmove-launch --netns /run/netns/NAME --hostname H --log FILE
 *                  [--cwd DIR] [--env K=V]... -- CMD [ARGS...]
 *
 * On success it prints "pid=<PID>" (the service's PID in the launcher's PID
 * namespace) and exits 0 at once. The service's stdout and stderr go to a
 * pipe read by a detached relay that appends to FILE: CRIU cannot restore a
 * process whose stdout is a regular file that has grown since the dump. The
 * relay stays in the caller's namespaces, so it is never part of the dumped
 * tree, and exits when every writer of the pipe is gone (tree ended or moved).
 *
 *   svcmove-launch --relay --log FILE [--attach-timeout SECONDS]
 *
 * starts only a relay, for a service that CRIU restores on this node: its
 * stdout pipe was dumped without a reader (the source's relay is outside the
 * tree), so the restore needs a pipe whose reader appends to the log. Prints
 * "relay=<PID> pipe=/proc/<PID>/fd/3". Within SECONDS (default 60) the caller
 * opens that path for writing, which gives it a write end of the relay's pipe,
 * hands that fd to CRIU (--inherit-fd fd[N]:pipe:[INODE of the dumped stdout
 * pipe]) and closes it. The relay ends with the last writer once SECONDS have
 * passed.
 *
 * Exit codes: 0 started, 1 setup failed, 2 usage, 125 the child's setup
 * failed, 126 command not executable, 127 command not found.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define EXIT_SETUP 1
#define EXIT_USAGE 2
#define EXIT_CHILD_SETUP 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ENV 256

extern char **environ;

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("svcmove-launch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void usage(const char *why)
{
	die(EXIT_USAGE, "%s\nusage: svcmove-launch --netns /run/netns/NAME --hostname H --log FILE "
	    "[--cwd DIR] [--env K=V]... -- CMD [ARGS...]\n"
	    "       svcmove-launch --relay --log FILE [--attach-timeout SECONDS]", why);
}

/* Closes every fd from `from` up. */
static void close_fds_from(int from)
{
	close_range((unsigned)from, ~0U, 0);
}

/* Puts src[i] at fd 3+i and closes every other fd from 3 up; fds may overlap the targets. */
static int place_fds(const int *src, int n)
{
	int tmp[8];
	for (int k = 0; k < n; k++) {
		tmp[k] = fcntl(src[k], F_DUPFD, 3 + n);
		if (tmp[k] < 0)
			return -1;
	}
	for (int k = 0; k < n; k++)
		if (dup2(tmp[k], 3 + k) < 0)
			return -1;
	close_fds_from(3 + n);
	return 0;
}

/* Opens path onto fd target. */
static int open_onto(const char *path, int flags, int target)
{
	int fd = open(path, flags);
	if (fd < 0 || dup2(fd, target) < 0)
		return -1;
	if (fd != target)
		close(fd);
	return 0;
}

/* Copies one read's worth from in to log; returns what read returned (0 at end-of-file). */
static ssize_t copy_some(int in, int log)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) < 0 && errno == EINTR)
		;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(log, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		/* Log unwritable (disk full): keep draining so the service never blocks on a full pipe. */
		if (w < 0)
			break;
		off += w;
	}
	return n;
}

/* The relay: copies the service's output into the log until the last writer closes. */
static void relay(int in, int log)
{
	while (copy_some(in, log) > 0)
		;
	_exit(0);
}

/*
 * Relay for a restored service. It keeps a write end of its own pipe for the
 * attach window, so that it cannot see end-of-file before the caller has
 * opened its write end; then it drops it and ends with the last writer.
 */
static void relay_detached(int log, int ready, int attach_timeout_ms)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		_exit(EXIT_SETUP);
	int keep[4] = {fds[0], log, ready, fds[1]};
	if (place_fds(keep, 4) < 0)
		_exit(EXIT_SETUP);
	if (write(5, "", 1) != 1)
		_exit(EXIT_SETUP);
	close(5);

	struct timespec now, until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += attach_timeout_ms / 1000;
	for (;;) {
		struct pollfd p = {.fd = 3, .events = POLLIN};
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (until.tv_sec - now.tv_sec) * 1000 + (until.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			break;
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			_exit(0);
		if (n > 0)
			copy_some(3, 4);
	}
	close(6);
	while (copy_some(3, 4) > 0)
		;
	_exit(0);
}

static int relay_only(const char *logpath, int attach_timeout_s)
{
	int logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (logfd < 0)
		die(EXIT_SETUP, "cannot open log %s: %s (check the directory exists and is writable)",
		    logpath, strerror(errno));
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		die(EXIT_SETUP, "pipe: %s", strerror(errno));
	pid_t r = fork();
	if (r < 0)
		die(EXIT_SETUP, "fork: %s", strerror(errno));
	if (r == 0) {
		setsid();
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close(ready[0]);
		if (open_onto("/dev/null", O_RDWR, 0) < 0 || dup2(0, 1) < 0 || dup2(0, 2) < 0 || chdir("/") < 0)
			_exit(EXIT_SETUP);
		relay_detached(logfd, ready[1], attach_timeout_s * 1000);
	}
	close(ready[1]);
	char c;
	ssize_t n;
	while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1) {
		int ws;
		waitpid(r, &ws, 0);
		die(EXIT_SETUP, "the relay could not set up its pipe (is /proc mounted?)");
	}
	printf("relay=%ld pipe=/proc/%ld/fd/3\n", (long)r, (long)r);
	return fflush(stdout) == 0 ? 0 : EXIT_SETUP;
}

/* Reports a failure of the service child to the launcher and exits with `code`. */
static void child_fail(int status_fd, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(msg, sizeof msg - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if (len > (int)sizeof msg - 2)
		len = (int)sizeof msg - 2;
	msg[len] = (char)code;
	/* Last byte carries the exit code; the launcher waits for us anyway, but this keeps one source of truth. */
	if (write(status_fd, msg, (size_t)len + 1) < 0) {
		/* Nothing left to tell anyone. */
	}
	_exit(code);
}

static void reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* exec keeps SIG_IGN dispositions: undo any the caller set so the service starts clean. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *hostname = NULL, *logpath = NULL, *cwd = "/";
	int relay_mode = 0, attach_timeout = 60;
	char *envv[MAX_ENV + 2];
	int envc = 0, has_path = 0;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--relay") == 0) {
			relay_mode = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage("missing value after an option");
		if (strcmp(a, "--netns") == 0)
			netns = argv[++i];
		else if (strcmp(a, "--hostname") == 0)
			hostname = argv[++i];
		else if (strcmp(a, "--log") == 0)
			logpath = argv[++i];
		else if (strcmp(a, "--cwd") == 0)
			cwd = argv[++i];
		else if (strcmp(a, "--attach-timeout") == 0) {
			char *end;
			long t = strtol(argv[++i], &end, 10);
			if (*end != '\0' || t < 1 || t > 86400)
				die(EXIT_USAGE, "--attach-timeout wants seconds (1-86400), got '%s'", argv[i]);
			attach_timeout = (int)t;
		}
		else if (strcmp(a, "--env") == 0) {
			const char *kv = argv[++i];
			if (strchr(kv, '=') == NULL || kv[0] == '=')
				die(EXIT_USAGE, "--env wants K=V, got '%s'", kv);
			if (envc == MAX_ENV)
				die(EXIT_USAGE, "more than %d --env options", MAX_ENV);
			if (strncmp(kv, "PATH=", 5) == 0)
				has_path = 1;
			envv[envc++] = (char *)kv;
		} else
			usage("unknown option");
	}
	if (relay_mode) {
		if (!logpath || netns || hostname || i < argc)
			usage("--relay takes only --log and --attach-timeout");
		return relay_only(logpath, attach_timeout);
	}
	if (!netns || !hostname || !logpath)
		usage("--netns, --hostname and --log are required");
	if (i >= argc)
		usage("no command after --");
	char **cmd = &argv[i];
	if (!has_path)
		envv[envc++] = DEFAULT_PATH;
	envv[envc] = NULL;

	/* Everything that can fail for a reason the operator can fix is checked before anything starts. */
	int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		die(EXIT_SETUP, "cannot open network namespace %s: %s (create the cell first)", netns, strerror(errno));
	int logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (logfd < 0)
		die(EXIT_SETUP, "cannot open log %s: %s (check the directory exists and is writable)",
		    logpath, strerror(errno));
	if (chdir(cwd) < 0)
		die(EXIT_SETUP, "cannot change directory to %s: %s", cwd, strerror(errno));

	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		die(EXIT_SETUP, "pipe: %s", strerror(errno));

	/*
	 * The relay is forked before setns/unshare so it stays in the caller's
	 * namespaces; it outlives this launcher as an orphan in its own session.
	 */
	pid_t r = fork();
	if (r < 0)
		die(EXIT_SETUP, "fork: %s", strerror(errno));
	if (r == 0) {
		setsid();
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		/* Must not hold the caller's stdout/stderr, or the caller would wait for the relay's end. */
		if (open_onto("/dev/null", O_RDWR, 0) < 0 || dup2(0, 1) < 0 || dup2(0, 2) < 0)
			_exit(EXIT_SETUP);
		int keep[2] = {out[0], logfd};
		if (place_fds(keep, 2) < 0)
			_exit(EXIT_SETUP);
		if (chdir("/") < 0)
			_exit(EXIT_SETUP);
		relay(3, 4);
	}
	close(out[0]);
	close(logfd);

	if (setns(nsfd, CLONE_NEWNET) < 0)
		die(EXIT_SETUP, "cannot enter network namespace %s: %s", netns, strerror(errno));
	close(nsfd);
	/*
	 * The time namespace is what lets CRIU carry the service's monotonic and
	 * boot-time clocks to another node. Like the PID namespace it holds only
	 * children forked from here on; it starts with this node's offsets (a new
	 * time namespace copies its parent's), so the service first sees the
	 * node's own clocks.
	 */
	if (unshare(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWTIME) < 0)
		die(EXIT_SETUP, "cannot create PID/UTS/IPC/time namespaces: %s (needs root and a kernel with CONFIG_TIME_NS)",
		    strerror(errno));
	/* This process is already in the new UTS namespace; the service inherits it. */
	if (sethostname(hostname, strlen(hostname)) < 0)
		die(EXIT_SETUP, "cannot set hostname '%s': %s", hostname, strerror(errno));

	int status[2];
	if (pipe2(status, O_CLOEXEC) < 0)
		die(EXIT_SETUP, "pipe: %s", strerror(errno));

	pid_t pid = fork();
	if (pid < 0)
		die(EXIT_SETUP, "fork into the new PID namespace: %s", strerror(errno));
	if (pid == 0) {
		/* PID 1 of the cell. CRIU refuses a tree whose session leader is outside its PID namespace. */
		close(status[0]);
		reset_signals();
		if (setsid() < 0)
			child_fail(status[1], EXIT_CHILD_SETUP, "setsid: %s", strerror(errno));
		if (open_onto("/dev/null", O_RDONLY, 0) < 0)
			child_fail(status[1], EXIT_CHILD_SETUP, "cannot open /dev/null: %s", strerror(errno));
		if (dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			child_fail(status[1], EXIT_CHILD_SETUP, "dup2: %s", strerror(errno));
		int sfd = status[1];
		if (sfd != 3) {
			if (dup3(sfd, 3, O_CLOEXEC) < 0)
				child_fail(sfd, EXIT_CHILD_SETUP, "dup3: %s", strerror(errno));
			sfd = 3;
		}
		close_fds_from(4);
		/* The agent's unit sets UMask=0077 for its own files; a service gets the usual default of a unit. */
		umask(022);
		environ = envv;
		execvp(cmd[0], cmd);
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			child_fail(sfd, EXIT_NOT_FOUND, "command not found: %s", cmd[0]);
		if (e == EACCES || e == EPERM)
			child_fail(sfd, EXIT_NOT_EXECUTABLE, "command not executable: %s: %s (check its mode and mount options)",
				   cmd[0], strerror(e));
		child_fail(sfd, EXIT_NOT_EXECUTABLE, "cannot execute %s: %s", cmd[0], strerror(e));
	}
	close(status[1]);
	close(out[1]);

	char msg[1024];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(status[0], msg + got, sizeof msg - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof msg - 1)
			break;
	}
	if (got == 0) {
		/* Status pipe closed by a successful exec. */
		printf("pid=%ld\n", (long)pid);
		return fflush(stdout) == 0 ? 0 : EXIT_SETUP;
	}
	int code = (unsigned char)msg[got - 1];
	msg[got - 1] = '\0';
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	fprintf(stderr, "svcmove-launch: %s\n", msg);
	return code;
}
