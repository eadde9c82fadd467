// The loopback interface as programs see it: getifaddrs(), if_nametoindex,
// the SIOCGIF* ioctls, and route netlink requests (a link query, an
// address dump, adding an address lo already has, an unknown request).
// Only lo is looked at: the host may have other interfaces.
#include "dt.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int nl_request(int fd, int type, int flags, void *body, int blen, unsigned seq)
{
	char buf[256] = { 0 };
	struct nlmsghdr *h = (void *)buf;
	h->nlmsg_len = NLMSG_LENGTH(blen);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq;
	memcpy(NLMSG_DATA(h), body, blen);
	return send(fd, buf, h->nlmsg_len, 0);
}

/* Reads replies until DONE or an error/ack; prints a summary of each. */
static void nl_replies(int fd, const char *what)
{
	static char buf[65536];
	for (;;) {
		int n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0) {
			printf("%s: recv %d %s\n", what, n, dt_errname(errno));
			return;
		}
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				printf("%s: done\n", what);
				return;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				printf("%s: error %s\n", what, dt_errname(-e->error));
				return;
			}
			if (h->nlmsg_type == RTM_NEWLINK) {
				struct ifinfomsg *i = NLMSG_DATA(h);
				char name[IFNAMSIZ] = "";
				int mtu = 0;
				int len = IFLA_PAYLOAD(h);
				for (struct rtattr *a = IFLA_RTA(i); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
					if (a->rta_type == IFLA_IFNAME)
						snprintf(name, sizeof name, "%s", (char *)RTA_DATA(a));
					if (a->rta_type == IFLA_MTU)
						mtu = *(int *)RTA_DATA(a);
				}
				if (i->ifi_index == 1)
					printf("%s: link %s type %d flags %#x mtu %d\n", what, name, i->ifi_type,
					       i->ifi_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING), mtu);
			}
			if (h->nlmsg_type == RTM_NEWADDR) {
				struct ifaddrmsg *a = NLMSG_DATA(h);
				if (a->ifa_index == 1)
					printf("%s: addr family %d prefix %d scope %d\n", what, a->ifa_family,
					       a->ifa_prefixlen, a->ifa_scope);
			}
		}
		if (!(((struct nlmsghdr *)buf)->nlmsg_flags & NLM_F_MULTI))
			return;
	}
}

int main(void)
{
	dt_init();
	struct ifaddrs *ifa, *i;
	CHK("getifaddrs", getifaddrs(&ifa));
	for (i = ifa; i; i = i->ifa_next) {
		if (strcmp(i->ifa_name, "lo"))
			continue;
		char txt[64] = "-";
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, txt, sizeof txt);
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, txt, sizeof txt);
		printf("ifaddr lo family %d %s flags %#x\n", i->ifa_addr ? i->ifa_addr->sa_family : -1, txt,
		       i->ifa_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
	}
	freeifaddrs(ifa);
	printf("if_nametoindex lo %u\n", if_nametoindex("lo"));
	char name[IF_NAMESIZE];
	printf("if_indextoname 1 %s\n", if_indextoname(1, name));
	CHK("if_nametoindex nosuch", if_nametoindex("nosuch0") ? 0 : -1);

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r = { 0 };
	strcpy(r.ifr_name, "lo");
	CHK("SIOCGIFFLAGS", ioctl(s, SIOCGIFFLAGS, &r));
	printf("flags %#x\n", r.ifr_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
	CHK("SIOCGIFADDR", ioctl(s, SIOCGIFADDR, &r));
	printf("addr %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
	CHK("SIOCGIFNETMASK", ioctl(s, SIOCGIFNETMASK, &r));
	printf("mask %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
	CHK("SIOCGIFMTU", ioctl(s, SIOCGIFMTU, &r));
	printf("mtu %d\n", r.ifr_mtu);
	CHK("SIOCGIFINDEX", ioctl(s, SIOCGIFINDEX, &r));
	printf("index %d\n", r.ifr_ifindex);
	CHK("SIOCGIFHWADDR", ioctl(s, SIOCGIFHWADDR, &r));
	printf("hw family %d\n", r.ifr_hwaddr.sa_family);
	memset(&r, 0, sizeof r);
	r.ifr_ifindex = 1;
	CHK("SIOCGIFNAME", ioctl(s, SIOCGIFNAME, &r));
	printf("name %s\n", r.ifr_name);
	strcpy(r.ifr_name, "nosuch0");
	CHK("SIOCGIFFLAGS nosuch", ioctl(s, SIOCGIFFLAGS, &r));
	struct ifreq all[32];
	struct ifconf ic = { .ifc_len = sizeof all, .ifc_req = all };
	CHK("SIOCGIFCONF", ioctl(s, SIOCGIFCONF, &ic));
	for (int k = 0; k < ic.ifc_len / (int)sizeof(struct ifreq); k++)
		if (!strcmp(all[k].ifr_name, "lo"))
			printf("ifconf lo %s\n", inet_ntoa(((struct sockaddr_in *)&all[k].ifr_addr)->sin_addr));
	ic.ifc_req = NULL;
	CHK("SIOCGIFCONF size", ioctl(s, SIOCGIFCONF, &ic));
	FACT(ic.ifc_len % sizeof(struct ifreq) == 0 && ic.ifc_len > 0);

	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	FACT(nl >= 0);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	CHK("bind", bind(nl, (void *)&sa, sizeof sa));
	socklen_t n = sizeof sa;
	getsockname(nl, (void *)&sa, &n);
	FACT(sa.nl_pid != 0);
	CHK("bind short", bind(nl, (void *)&sa, 4));
	struct ifinfomsg ii = { .ifi_family = AF_UNSPEC, .ifi_index = 1 };
	nl_request(nl, RTM_GETLINK, 0, &ii, sizeof ii, 1);
	nl_replies(nl, "getlink 1");
	nl_request(nl, RTM_GETLINK, NLM_F_DUMP, &ii, sizeof ii, 2);
	nl_replies(nl, "dump links");
	struct ifaddrmsg ia = { .ifa_family = AF_UNSPEC };
	nl_request(nl, RTM_GETADDR, NLM_F_DUMP, &ia, sizeof ia, 3);
	nl_replies(nl, "dump addrs");
	ia.ifa_family = AF_INET6;
	nl_request(nl, RTM_GETADDR, NLM_F_DUMP, &ia, sizeof ia, 4);
	nl_replies(nl, "dump v6 addrs");
	struct {
		struct ifaddrmsg m;
		struct rtattr a;
		struct in_addr ip;
	} add = { { AF_INET, 8, 0, RT_SCOPE_HOST, 1 }, { RTA_LENGTH(4), IFA_LOCAL }, { htonl(INADDR_LOOPBACK) } };
	nl_request(nl, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &add, sizeof add, 5);
	nl_replies(nl, "add existing");
	ii.ifi_index = 9999;
	nl_request(nl, RTM_GETLINK, NLM_F_ACK, &ii, sizeof ii, 6);
	nl_replies(nl, "getlink 9999");
	nl_request(nl, RTM_NEWLINK, NLM_F_ACK, &(struct ifinfomsg){ .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP }, sizeof ii, 7);
	nl_replies(nl, "set lo up");
	char b;
	CHK("nothing left", recv(nl, &b, 1, MSG_DONTWAIT));
	return 0;
}
