/*
 * The `libnetfilter_log` mode of the burst benchmark: a C receiver written against
 * libnetfilter_log's public API, with the settings given on the command line, that looks
 * at each packet's payload, prefix and mark as the benchmark's other receivers do.
 *
 *   nflog_c_receiver GROUP QTHRESH NLBUFSIZ TIMEOUT_CS RCVBUF SEQ(0|1) WAIT(poll|recv)
 *
 * It receives with recv() into a static buffer. WAIT `poll` waits with poll() before each
 * recv(), as a program that watches other descriptors too does; `recv` blocks in recv()
 * alone, the loop of libnetfilter_log's own example (utils/nfulnl_test.c) and of most of
 * its users, one system call per datagram. On SIGINT or SIGTERM it prints one line on standard error that the
 * benchmark reads:
 *
 *   libnetfilter_log: N packets, D datagrams, O overruns, buffer at page offset 0xNNN
 *
 * The benchmark compiles it (`cc -O2 ... -lnetfilter_log -lnfnetlink`) when
 * libnetfilter-log-dev is installed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libnetfilter_log/libnetfilter_log.h>

/* The largest datagram the kernel sends with nlbufsiz up to 128 KiB and 64 KiB packets. */
#define BUFFER_SIZE (256 * 1024)

static volatile sig_atomic_t stopping;
static char buffer[BUFFER_SIZE];

struct tally {
	unsigned long long packets;
	unsigned long long sink;
};

static void on_signal(int signal_number)
{
	(void)signal_number;
	stopping = 1;
}

static int on_packet(struct nflog_g_handle *group, struct nfgenmsg *message,
		     struct nflog_data *data, void *context)
{
	struct tally *tally = context;
	char *payload = NULL;
	int payload_len = nflog_get_payload(data, &payload);
	const char *prefix = nflog_get_prefix(data);
	uint32_t mark = nflog_get_nfmark(data);

	(void)group;
	(void)message;
	tally->sink += (prefix ? strlen(prefix) : 0) + mark +
		       (payload_len > 0 ? (unsigned)payload_len : 0);
	tally->packets++;
	return 0;
}

static unsigned long number(const char *text, const char *what)
{
	char *end = NULL;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || !end || *end || end == text) {
		fprintf(stderr, "nflog_c_receiver: %s: not a number: %s\n", what, text);
		exit(2);
	}
	return value;
}

int main(int argc, char **argv)
{
	struct nflog_handle *handle;
	struct nflog_g_handle *group;
	struct tally tally = { 0, 0 };
	struct sigaction action;
	unsigned long long datagrams = 0, overruns = 0;
	int fd, rcvbuf, use_poll;

	if (argc != 8 || (strcmp(argv[7], "poll") && strcmp(argv[7], "recv"))) {
		fprintf(stderr, "usage: nflog_c_receiver GROUP QTHRESH NLBUFSIZ TIMEOUT_CS "
				"RCVBUF SEQ poll|recv\n");
		return 2;
	}
	use_poll = !strcmp(argv[7], "poll");
	memset(&action, 0, sizeof action);
	action.sa_handler = on_signal;
	/* No SA_RESTART: a signal ends the wait in poll() or recv() with EINTR. */
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);

	handle = nflog_open();
	if (!handle) {
		perror("nflog_open");
		return 1;
	}
	/* No nflog_bind_pf: unnecessary since Linux 3.8, and it changes the namespace's
	 * default logger. */
	group = nflog_bind_group(handle, (uint16_t)number(argv[1], "group"));
	if (!group) {
		perror("nflog_bind_group");
		return 1;
	}
	if (nflog_set_mode(group, NFULNL_COPY_PACKET, 0xffff) < 0 ||
	    nflog_set_qthresh(group, (uint32_t)number(argv[2], "qthresh")) < 0 ||
	    nflog_set_nlbufsiz(group, (uint32_t)number(argv[3], "nlbufsiz")) < 0 ||
	    nflog_set_timeout(group, (uint32_t)number(argv[4], "timeout")) < 0 ||
	    (number(argv[6], "seq") &&
	     nflog_set_flags(group, NFULNL_CFG_F_SEQ) < 0)) {
		perror("configuring the group");
		return 1;
	}
	fd = nflog_fd(handle);
	rcvbuf = (int)number(argv[5], "rcvbuf");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
		perror("SO_RCVBUF");
		return 1;
	}
	nflog_callback_register(group, on_packet, &tally);

	while (!stopping) {
		struct pollfd readable = { .fd = fd, .events = POLLIN };
		ssize_t length;

		if (use_poll && poll(&readable, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		length = recv(fd, buffer, sizeof buffer, 0);
		if (length < 0) {
			if (errno == ENOBUFS) {
				overruns++;
				continue;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("recv");
			return 1;
		}
		datagrams++;
		/* Returns -1 for every datagram of several messages (the kernel ends those
		 * with NLMSG_DONE), after calling the callback for each packet: ignored. */
		nflog_handle_packet(handle, buffer, (int)length);
	}
	fprintf(stderr,
		"libnetfilter_log: %llu packets, %llu datagrams, %llu overruns, "
		"buffer at page offset 0x%03lx (sink %llu)\n",
		tally.packets, datagrams, overruns,
		(unsigned long)((uintptr_t)buffer & 0xfff), tally.sink);
	nflog_unbind_group(group);
	nflog_close(handle);
	return 0;
}
