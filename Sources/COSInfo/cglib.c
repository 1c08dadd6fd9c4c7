/*
 * See cglib.h. As in cosinfo.c, each pointer has the type of glib's own declaration.
 * load_keyinfo() is libosinfo 1.10's (osinfo/osinfo_tree.c), less the tree it makes.
 */
#include "cglib.h"
#include <dlfcn.h>
#include <glib.h>
#include <string.h>

#define VMI_GLIB_SYMBOLS(X)                                                          \
    X(g_regex_match_simple) X(g_strchomp) X(g_free) X(g_strdup) X(g_strdup_printf)   \
    X(g_error_free) X(g_error_matches) X(g_key_file_error_quark) X(g_key_file_new)   \
    X(g_key_file_free) X(g_key_file_load_from_data) X(g_key_file_get_string)

#define VMI_DECLARE(name) static __typeof__(&name) q_##name;
VMI_GLIB_SYMBOLS(VMI_DECLARE)

const char *vmi_glib_load(void) {
    static void *handle;
    static const char *failure;
    if (handle || failure) return failure;
    void *h = dlopen("libglib-2.0.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return failure = why ? why : "dlopen(libglib-2.0.so.0) failed";
    }
#define VMI_RESOLVE(name)                                 \
    if (!(q_##name = (__typeof__(&name))dlsym(h, #name))) \
        return failure = "libglib-2.0.so.0 lacks " #name;
    VMI_GLIB_SYMBOLS(VMI_RESOLVE)
    handle = h;
    return NULL;
}

int vmi_glib_regex_match(const char *pattern, const char *string) {
    return q_g_regex_match_simple(pattern, string, 0, 0) ? 1 : 0;
}

void vmi_glib_chomp(char *string) { q_g_strchomp(string); }
void vmi_glib_free(void *memory) { q_g_free(memory); }

static int is_unknown_group_or_key_error(const GError *error) {
    GQuark domain = q_g_key_file_error_quark();
    return q_g_error_matches(error, domain, G_KEY_FILE_ERROR_KEY_NOT_FOUND) ||
           q_g_error_matches(error, domain, G_KEY_FILE_ERROR_GROUP_NOT_FOUND);
}

/* One key as load_keyinfo() reads it: 1 when read or missing, 0 on another error. */
static int get(GKeyFile *file, const char *group, const char *key, char **value, GError **error) {
    *value = q_g_key_file_get_string(file, group, key, error);
    if (*value) return 1;
    if (!is_unknown_group_or_key_error(*error)) return 0;
    q_g_error_free(*error);
    *error = NULL;
    return 1;
}

int vmi_glib_read_treeinfo(const char *text, VMITreeinfo *out, char **message) {
    GKeyFile *file = q_g_key_file_new();
    GError *error = NULL;
    char *kernel = NULL, *initrd = NULL, *bootiso = NULL, *group = NULL;
    int ok = 0;
    memset(out, 0, sizeof *out);
    *message = NULL;
    if (!q_g_key_file_load_from_data(file, text, strlen(text), G_KEY_FILE_NONE, &error)) goto cleanup;
    if (!get(file, "general", "family", &out->family, &error)) goto cleanup;
    if (!get(file, "general", "variant", &out->variant, &error)) goto cleanup;
    if (!get(file, "general", "version", &out->version, &error)) goto cleanup;
    if (!get(file, "general", "arch", &out->arch, &error)) goto cleanup;
    if (out->arch) {
        group = q_g_strdup_printf("images-%s", out->arch);
        if (!get(file, group, "kernel", &kernel, &error)) goto cleanup;
        if (!get(file, group, "initrd", &initrd, &error)) goto cleanup;
        if (!get(file, group, "boot.iso", &bootiso, &error)) goto cleanup;
    }
    ok = 1;
cleanup:
    if (!ok) {
        *message = q_g_strdup(error && error->message ? error->message : "the .treeinfo cannot be read");
        if (error) q_g_error_free(error);
        q_g_free(out->family);
        q_g_free(out->variant);
        q_g_free(out->version);
        q_g_free(out->arch);
        memset(out, 0, sizeof *out);
    }
    q_g_free(kernel);
    q_g_free(initrd);
    q_g_free(bootiso);
    q_g_free(group);
    q_g_key_file_free(file);
    return ok;
}
