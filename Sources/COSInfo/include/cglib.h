#ifndef VMI_CGLIB_H
#define VMI_CGLIB_H
/*
 * glib alone (libglib-2.0.so.0: not libosinfo, gobject or gio), loaded on first use with
 * dlopen, for recognising media and trees from the osinfo index exactly as libosinfo 1.10
 * does, with the glib functions it calls: its regular expressions (g_regex_match_simple, no
 * flags: PCRE2 in UTF-8 mode, unanchored), its trimming of ISO 9660 fields (g_strchomp) and
 * its reading of a .treeinfo (GKeyFile). No glib header is needed to use it.
 */

/* Loads glib and resolves the functions below. Returns NULL on success, else why not. */
const char *vmi_glib_load(void);

/* 1 when PATTERN matches somewhere in STRING, as libosinfo's match_regex(). */
int vmi_glib_regex_match(const char *pattern, const char *string);

/* Removes trailing ASCII white space in place (g_strchomp). */
void vmi_glib_chomp(char *string);

void vmi_glib_free(void *memory);

/*
 * The [general] family, variant, version and arch of a .treeinfo, read as libosinfo 1.10's
 * load_keyinfo() reads them (and the images-ARCH keys it reads, whose errors it reports
 * too). Each string is NULL when the key or group is missing, else released with
 * vmi_glib_free. Returns 1, or 0 with *error set (release it with vmi_glib_free).
 */
typedef struct {
    char *family;
    char *variant;
    char *version;
    char *arch;
} VMITreeinfo;
int vmi_glib_read_treeinfo(const char *text, VMITreeinfo *out, char **error);

#endif
