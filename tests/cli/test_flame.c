/* contend flame: the SVG and HTML are self-contained and name the hot
 * frame; opened in headless Chromium they render, and the screenshot
 * shows the hot frame's box in its colour where the SVG put it. The
 * browser test skips with a message when Chromium is not installed
 * (./dev.sh test tries to install it). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "testcmd.h"

#define CHROMIUM "/usr/bin/chromium"
#define HOT "main.holdLedger" /* 96% of the Go mutex fixture */

static void
make_flame(const char *tmp, const char *name, char *out, size_t len)
{
	char fixture[4096];
	source_path(fixture, sizeof(fixture), "tests/cli/fixtures/go-mutex.pb.gz");
	snprintf(out, len, "%s/%s", tmp, name);
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "flame", fixture, "-o", out, NULL}, NULL);
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	cr_expect_str_eq(c.stdout_text, "");
	cmd_free(&c);
}

/* The <g> of the frame called name: its rect's x, y, width and fill. */
static bool
frame_box(const char *svg, const char *name, double *x, double *y, double *w, int rgb[3])
{
	char key[256];
	snprintf(key, sizeof(key), "data-n=\"%s\"><title>", name);
	const char *g = strstr(svg, key);
	if (!g)
		return false;
	const char *r = strstr(g, "<rect ");
	return r && sscanf(r, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%*d\" rx=\"2\" fill=\"rgb(%d,%d,%d)\"",
			   x, y, w, &rgb[0], &rgb[1], &rgb[2]) == 6;
}

Test(flame, svg_and_html_are_self_contained)
{
	char tmp[4096], svg[4200], html[4200];
	tmpdir_make(tmp, sizeof(tmp), "cli");
	make_flame(tmp, "f.svg", svg, sizeof(svg));
	make_flame(tmp, "f.html", html, sizeof(html));
	char *s = read_file(svg, NULL), *h = read_file(html, NULL);
	cr_assert(s && h);
	cr_expect(!strncmp(s, "<?xml", 5));
	cr_expect(strstr(s, "</svg>\n"), "truncated SVG");
	double x, y, w;
	int rgb[3];
	cr_expect(frame_box(s, HOT, &x, &y, &w, rgb), "no box for %s", HOT);
	cr_expect(w > 1000, "%s is %.1f px wide, expected most of 1180", HOT, w);
	cr_expect(strstr(s, "<title>" HOT " ("), "no tooltip for %s", HOT);
	cr_expect(strstr(s, ">" HOT "</text>"), "no label for %s", HOT);
	cr_expect(strstr(h, "<!DOCTYPE html>") && strstr(h, "<svg ") && strstr(h, "<script>"));
	cr_expect(strstr(h, ">" HOT "</text>"));
	/* Nothing fetched from anywhere: no src= or href= attributes, and
	 * the only URL is the SVG namespace. */
	for (const char *doc = s; doc; doc = doc == s ? h : NULL) {
		cr_expect(!strstr(doc, "src=") && !strstr(doc, "href="), "external reference");
		/* "://", not "http": the profile's own file path (in the
		 * title) may contain "http", as any directory name may. */
		const char *u = doc;
		while ((u = strstr(u, "://")) != NULL) {
			cr_expect(u - doc >= 4 && !strncmp(u - 4, "http://www.w3.org/2000/svg", 26),
				  "URL in output: %.40s", u - (u - doc >= 5 ? 5 : u - doc));
			u += 3;
		}
	}
	/* Same name, same colour, in another profile's graph. */
	make_flame(tmp, "g.svg", svg, sizeof(svg));
	char *s2 = read_file(svg, NULL);
	double x2, y2, w2;
	int rgb2[3];
	cr_expect(frame_box(s2, HOT, &x2, &y2, &w2, rgb2) && !memcmp(rgb, rgb2, sizeof(rgb)));
	free(s);
	free(s2);
	free(h);
	tmpdir_remove(tmp);
}

/* ------------------------------------------------------------------ */
/* A minimal PNG reader: 8-bit RGB or RGBA, not interlaced (what Chromium
 * writes for screenshots). */

struct image {
	unsigned w, h, channels;
	unsigned char *px; /* w * h * channels */
};

static unsigned
be32(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

static int
paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static bool
png_read(const char *path, struct image *img)
{
	size_t len;
	unsigned char *d = (unsigned char *)read_file(path, &len);
	unsigned char *idat = NULL, *raw = NULL;
	size_t nidat = 0;
	bool ok = false;
	memset(img, 0, sizeof(*img));
	if (!d || len < 33 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
		goto out;
	for (size_t off = 8; off + 12 <= len;) {
		unsigned n = be32(d + off);
		const unsigned char *type = d + off + 4, *body = d + off + 8;
		if (off + 12 + n > len)
			goto out;
		if (!memcmp(type, "IHDR", 4)) {
			img->w = be32(body);
			img->h = be32(body + 4);
			if (body[8] != 8 || (body[9] != 2 && body[9] != 6) || body[12] != 0)
				goto out;
			img->channels = body[9] == 6 ? 4 : 3;
		} else if (!memcmp(type, "IDAT", 4)) {
			idat = realloc(idat, nidat + n);
			memcpy(idat + nidat, body, n);
			nidat += n;
		}
		off += 12 + n;
	}
	if (!img->w || !img->h || img->w > 10000 || img->h > 10000)
		goto out;
	size_t stride = (size_t)img->w * img->channels;
	uLongf rawlen = (uLongf)((stride + 1) * img->h);
	raw = malloc(rawlen);
	if (uncompress(raw, &rawlen, idat, nidat) != Z_OK || rawlen != (stride + 1) * img->h)
		goto out;
	img->px = malloc(stride * img->h);
	for (unsigned y = 0; y < img->h; y++) {
		unsigned char f = raw[y * (stride + 1)], *in = raw + y * (stride + 1) + 1;
		unsigned char *o = img->px + y * stride, *up = y ? o - stride : NULL;
		for (size_t i = 0; i < stride; i++) {
			int a = i >= img->channels ? o[i - img->channels] : 0, b = up ? up[i] : 0,
			    c = (up && i >= img->channels) ? up[i - img->channels] : 0;
			int v = in[i];
			switch (f) {
			case 1: v += a; break;
			case 2: v += b; break;
			case 3: v += (a + b) / 2; break;
			case 4: v += paeth(a, b, c); break;
			}
			o[i] = (unsigned char)v;
		}
	}
	ok = true;
out:
	free(d);
	free(idat);
	free(raw);
	return ok;
}

static void
screenshot(const char *file, const char *png)
{
	char profile[4096], url[4300], shot[4300];
	tmpdir_make(profile, sizeof(profile), "cli");
	char userdir[4200];
	snprintf(userdir, sizeof(userdir), "--user-data-dir=%s", profile);
	snprintf(url, sizeof(url), "file://%s", file);
	snprintf(shot, sizeof(shot), "--screenshot=%s", png);
	struct cmd c;
	cmd_run(&c,
		(const char *[]){CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
				 "--no-first-run", "--disable-background-networking",
				 "--disable-component-update", "--disable-sync", userdir, shot,
				 "--window-size=1200,800", url, NULL},
		&(struct cmd_opts){.timeout_s = 90});
	cr_assert_eq(cmd_exit_code(&c), 0, "chromium failed: %s", c.stderr_text);
	cmd_free(&c);
	tmpdir_remove(profile);
}

Test(flame, renders_in_headless_chromium, .timeout = 240)
{
	if (access(CHROMIUM, X_OK) != 0)
		cr_skip_test("Chromium is not installed (%s; ./dev.sh test installs it with apt-get "
			     "install chromium when it can): flame graph not rendered",
			     CHROMIUM);
	char tmp[4096], svg[4200], html[4200], png[4300];
	tmpdir_make(tmp, sizeof(tmp), "cli");
	make_flame(tmp, "f.svg", svg, sizeof(svg));
	make_flame(tmp, "f.html", html, sizeof(html));

	/* The SVG is drawn 1:1 from the top left: the hot box must be there,
	 * in its colour. */
	snprintf(png, sizeof(png), "%s/svg.png", tmp);
	screenshot(svg, png);
	struct image img;
	cr_assert(png_read(png, &img), "%s is not a readable PNG", png);
	cr_expect(img.w >= 1200 && img.h >= 100, "screenshot %ux%u", img.w, img.h);
	char *s = read_file(svg, NULL);
	double x, y, w;
	int rgb[3];
	cr_assert(frame_box(s, HOT, &x, &y, &w, rgb));
	unsigned px = (unsigned)(x + w / 2), py = (unsigned)(y + 4);
	cr_assert(px < img.w && py < img.h);
	const unsigned char *p = img.px + ((size_t)py * img.w + px) * img.channels;
	cr_expect(abs(p[0] - rgb[0]) <= 3 && abs(p[1] - rgb[1]) <= 3 && abs(p[2] - rgb[2]) <= 3,
		  "pixel (%u,%u) of the %s box is rgb(%d,%d,%d), expected rgb(%d,%d,%d)", px, py, HOT, p[0],
		  p[1], p[2], rgb[0], rgb[1], rgb[2]);
	/* And the whole picture is a flame graph, not a blank page. */
	size_t warm = 0;
	for (size_t i = 0; i < (size_t)img.w * img.h; i++) {
		const unsigned char *q = img.px + i * img.channels;
		warm += q[0] >= 200 && q[2] <= 60;
	}
	cr_expect(warm > 20000, "only %zu flame-coloured pixels", warm);
	free(img.px);
	free(s);

	/* The HTML, with a search given in the URL: its script runs and
	 * paints the matching boxes magenta. */
	snprintf(png, sizeof(png), "%s/html.png", tmp);
	char search[4300];
	snprintf(search, sizeof(search), "%s#q=holdLedger", html);
	screenshot(search, png);
	cr_assert(png_read(png, &img), "%s is not a readable PNG", png);
	warm = 0;
	for (size_t i = 0; i < (size_t)img.w * img.h; i++) {
		const unsigned char *q = img.px + i * img.channels;
		warm += q[0] >= 200 && q[2] <= 60;
	}
	cr_expect(warm > 20000, "HTML: only %zu flame-coloured pixels", warm);
	size_t magenta = 0;
	for (size_t i = 0; i < (size_t)img.w * img.h; i++) {
		const unsigned char *q = img.px + i * img.channels;
		magenta += abs(q[0] - 230) <= 3 && q[1] <= 3 && abs(q[2] - 230) <= 3;
	}
	cr_expect(magenta > 10000, "HTML: the search painted only %zu pixels", magenta);
	free(img.px);
	tmpdir_remove(tmp);
}

/* A link planted at the temporary name the output could be written
 * under (<out>.tmp.<pid>, the pid known once contend is started) is never
 * followed: its target stays as it was, and the graph is written. */
Test(flame, never_writes_through_a_planted_link)
{
	char tmp[4096], out[4200], target[4200], link[4300], fixture[4096];
	static const char precious[] = "precious\n";
	tmpdir_make(tmp, sizeof(tmp), "cli");
	source_path(fixture, sizeof(fixture), "tests/cli/fixtures/go-mutex.pb.gz");
	snprintf(out, sizeof(out), "%s/f.svg", tmp);
	snprintf(target, sizeof(target), "%s/victim", tmp);
	write_file(target, precious, strlen(precious));
	int go[2];
	cr_assert_eq(pipe(go), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(126);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(contend_bin(), contend_bin(), "flame", fixture, "-o", out, (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	snprintf(link, sizeof(link), "%s.tmp.%d", out, (int)pid);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	char *t = read_file(target, NULL), *s = read_file(out, NULL);
	cr_expect(t && !strcmp(t, precious), "the link's target was overwritten");
	struct stat sb;
	cr_expect(lstat(out, &sb) == 0 && S_ISREG(sb.st_mode), "%s is not a regular file", out);
	cr_expect(s && !strncmp(s, "<?xml", 5), "no SVG in %s", out);
	free(t);
	free(s);
	tmpdir_remove(tmp);
}
