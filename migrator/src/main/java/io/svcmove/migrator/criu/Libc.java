package io.svcmove.migrator.criu;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/**
 * The few libc calls the CRIU binding needs, through JNA (Linux, LP64: {@code long} is
 * {@code ssize_t}/{@code size_t}). errno is read with {@link Native#getLastError()}.
 */
interface Libc extends Library {
    Libc C = Native.load("c", Libc.class);

    int AF_UNIX = 1;
    int SOCK_SEQPACKET = 5;
    int SOCK_CLOEXEC = 0x80000;
    int MSG_TRUNC = 0x20;
    int MSG_NOSIGNAL = 0x4000;
    int MSG_DONTWAIT = 0x40;

    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_CREAT = 0x40;
    int O_TRUNC = 0x200;
    int O_APPEND = 0x400;
    int O_DIRECTORY = 0x10000;
    int O_CLOEXEC = 0x80000;
    int F_DUPFD_CLOEXEC = 1030;

    short POLLIN = 0x1;
    int EINTR = 4;
    int WNOHANG = 1;
    int SIGKILL = 9;
    int SIGCONT = 18;

    int SOL_SOCKET = 1;
    int SO_PROTOCOL = 38;
    int SOL_TCP = 6;
    int IPPROTO_TCP = 6;
    int TCP_REPAIR = 19;
    /** Leave repair mode without sending a window probe. */
    int TCP_REPAIR_OFF_NO_WP = -1;

    long SYS_PIDFD_OPEN = 434;
    long SYS_PIDFD_GETFD = 438;

    short POSIX_SPAWN_SETSIGDEF = 0x04;
    short POSIX_SPAWN_SETSIGMASK = 0x08;
    /** glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128. */
    int SPAWN_STRUCT_BYTES = 512;

    int socketpair(int domain, int type, int protocol, int[] sv);
    int open(String path, int flags, int mode);
    int close(int fd);
    int fcntl(int fd, int cmd, int arg);
    long send(int fd, byte[] buf, long len, int flags);
    long recv(int fd, byte[] buf, long len, int flags);
    /** {@code fds} holds {@code struct pollfd {int fd; short events; short revents;}} entries. */
    int poll(Pointer fds, long nfds, int timeoutMillis);
    int getsockopt(int fd, int level, int name, IntByReference value, IntByReference len);
    int setsockopt(int fd, int level, int name, IntByReference value, int len);
    int kill(int pid, int sig);
    int waitpid(int pid, IntByReference status, int options);
    long syscall(long number, long a1, long a2);
    long syscall(long number, long a1, long a2, long a3);
    String strerror(int errnum);

    int sigemptyset(Pointer set);
    int sigfillset(Pointer set);
    int posix_spawnattr_init(Pointer attr);
    int posix_spawnattr_setflags(Pointer attr, short flags);
    int posix_spawnattr_setsigmask(Pointer attr, Pointer set);
    int posix_spawnattr_setsigdefault(Pointer attr, Pointer set);
    int posix_spawnattr_destroy(Pointer attr);
    int posix_spawn_file_actions_init(Pointer actions);
    int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newFd);
    int posix_spawn_file_actions_addopen(Pointer actions, int fd, String path, int flags, int mode);
    int posix_spawn_file_actions_addclosefrom_np(Pointer actions, int from);
    int posix_spawn_file_actions_destroy(Pointer actions);
    int posix_spawn(IntByReference pid, String path, Pointer actions, Pointer attr, Pointer argv, Pointer envp);

    /** "strerror(errno) (errno N)" for the calling thread's last JNA call. */
    static String lastError() {
        int errno = Native.getLastError();
        return C.strerror(errno) + " (errno " + errno + ")";
    }

    /** Opens {@code path} with O_CLOEXEC added; throws naming the path and errno. */
    static int openOrThrow(String path, int flags, int mode) throws java.io.IOException {
        int fd = C.open(path, flags | O_CLOEXEC, mode);
        if (fd < 0) {
            throw new java.io.IOException("open " + path + ": " + lastError());
        }
        return fd;
    }
}
