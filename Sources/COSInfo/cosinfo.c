/*
 * See cosinfo.h. Each pointer has the type of libosinfo's (or glib's) own declaration
 * (__typeof__ does not reference the symbol), so a call with the wrong arguments does not
 * compile. Casts between libosinfo's types are plain C casts: its OSINFO_X() helpers would
 * call g_type_check_instance_cast, and so link glib.
 */
#include "cosinfo.h"
#include <dlfcn.h>
#include <osinfo/osinfo.h>
#include <stdlib.h>
#include <string.h>

#define VMI_OSINFO_SYMBOLS(X)                                                           \
    X(g_object_unref) X(g_free) X(g_strdup) X(g_error_free)                             \
    X(g_main_context_new) X(g_main_context_push_thread_default)                         \
    X(g_main_context_pop_thread_default) X(g_main_context_unref)                        \
    X(osinfo_loader_new) X(osinfo_loader_process_default_path) X(osinfo_loader_get_db)  \
    X(osinfo_db_get_os_list) X(osinfo_list_get_length) X(osinfo_list_get_nth)           \
    X(osinfo_entity_get_id) X(osinfo_product_get_short_id) X(osinfo_product_get_name)   \
    X(osinfo_os_get_family) X(osinfo_os_get_minimum_resources)                          \
    X(osinfo_os_get_recommended_resources) X(osinfo_os_get_all_devices)                 \
    X(osinfo_os_get_complete_firmware_list) X(osinfo_os_get_install_script_list)        \
    X(osinfo_resources_get_architecture) X(osinfo_resources_get_n_cpus)                 \
    X(osinfo_resources_get_ram) X(osinfo_resources_get_storage)                         \
    X(osinfo_firmware_get_architecture) X(osinfo_firmware_get_firmware_type)            \
    X(osinfo_firmware_is_supported)                                                     \
    X(osinfo_media_create_from_location) X(osinfo_db_identify_media)                    \
    X(osinfo_media_get_os) X(osinfo_media_get_volume_id)                                \
    X(osinfo_media_supports_installer_script) X(osinfo_media_get_install_script_list)   \
    X(osinfo_tree_create_from_treeinfo) X(osinfo_db_identify_tree) X(osinfo_tree_get_os) \
    X(osinfo_install_script_get_profile) X(osinfo_install_script_get_expected_filename) \
    X(osinfo_install_script_get_injection_methods)                                      \
    X(osinfo_install_script_set_preferred_injection_method)                             \
    X(osinfo_install_script_set_installation_source)                                    \
    X(osinfo_install_script_get_config_param) X(osinfo_install_config_param_is_optional) \
    X(osinfo_install_config_new) X(osinfo_install_config_set_admin_password)            \
    X(osinfo_install_config_set_user_login) X(osinfo_install_config_set_user_realname)  \
    X(osinfo_install_config_set_user_password) X(osinfo_install_config_set_target_disk) \
    X(osinfo_install_config_set_hardware_arch) X(osinfo_install_config_set_hostname)    \
    X(osinfo_install_config_set_l10n_timezone) X(osinfo_install_config_set_l10n_language) \
    X(osinfo_install_config_set_l10n_keyboard)                                          \
    X(osinfo_install_config_set_installation_url)                                       \
    X(osinfo_install_config_set_reg_product_key)                                        \
    X(osinfo_install_script_generate_for_media) X(osinfo_install_script_generate_for_tree) \
    X(osinfo_install_script_generate)                                                   \
    X(osinfo_install_script_generate_command_line_for_media)                            \
    X(osinfo_install_script_generate_command_line_for_tree)                             \
    X(osinfo_install_script_generate_command_line)                                      \
    X(g_list_sort) X(g_list_free) X(osinfo_list_get_elements) X(osinfo_list_add)         \
    X(osinfo_medialist_new) X(osinfo_oslist_new) X(osinfo_treelist_new) X(osinfo_os_get_media_list) X(osinfo_os_get_tree_list)       \
    X(osinfo_os_get_release_status) X(osinfo_media_get_architecture)                    \
    X(osinfo_media_get_system_id) X(osinfo_media_get_publisher_id)                      \
    X(osinfo_media_get_application_id) X(osinfo_media_get_volume_size)                  \
    X(osinfo_tree_get_architecture) X(osinfo_tree_get_treeinfo_family)                  \
    X(osinfo_tree_get_treeinfo_variant) X(osinfo_tree_get_treeinfo_version)             \
    X(osinfo_tree_get_treeinfo_arch) X(osinfo_tree_has_treeinfo) X(osinfo_media_new)    \
    X(osinfo_entity_set_param) X(osinfo_entity_set_param_int64)                       \
    X(osinfo_entity_get_param_value) X(osinfo_db_identify_medialist)                   \
    X(osinfo_product_get_related)

#define VMI_DECLARE(name) static __typeof__(&name) p_##name;
VMI_OSINFO_SYMBOLS(VMI_DECLARE)

const char *vmi_osinfo_load(void) {
    static void *handle;
    static const char *failure;
    if (handle || failure) return failure;
    void *h = dlopen("libosinfo-1.0.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return failure = why ? why : "dlopen(libosinfo-1.0.so.0) failed";
    }
    /* dlsym on the handle searches libosinfo and the libraries it needs (glib, gobject). */
#define VMI_RESOLVE(name)                                                   \
    if (!(p_##name = (__typeof__(&name))dlsym(h, #name)))                   \
        return failure = "libosinfo-1.0.so.0 lacks " #name " (1.10 or newer is needed)";
    VMI_OSINFO_SYMBOLS(VMI_RESOLVE)
    handle = h;
    return NULL;
}

void vmi_osinfo_unref(void *object) { if (object) p_g_object_unref(object); }
void vmi_osinfo_free(void *memory) { p_g_free(memory); }

/* A GError's message as a string of our own, and the GError freed. */
static void take_error(GError *error, char **out) {
    if (!out) {
        if (error) p_g_error_free(error);
        return;
    }
    *out = NULL;
    if (!error) return;
    *out = p_g_strdup(error->message ? error->message : "unknown libosinfo error");
    p_g_error_free(error);
}

OsinfoLoader *vmi_osinfo_loader_new(void) { return p_osinfo_loader_new(); }
void vmi_osinfo_loader_process_default_path(OsinfoLoader *loader, char **error) {
    GError *e = NULL;
    p_osinfo_loader_process_default_path(loader, &e);
    take_error(e, error);
}
OsinfoDb *vmi_osinfo_loader_get_db(OsinfoLoader *loader) { return p_osinfo_loader_get_db(loader); }
OsinfoOsList *vmi_osinfo_db_get_os_list(OsinfoDb *db) { return p_osinfo_db_get_os_list(db); }

int vmi_osinfo_list_get_length(void *list) { return p_osinfo_list_get_length((OsinfoList *)list); }
void *vmi_osinfo_list_get_nth(void *list, int index) { return p_osinfo_list_get_nth((OsinfoList *)list, index); }

const char *vmi_osinfo_entity_get_id(void *entity) { return p_osinfo_entity_get_id((OsinfoEntity *)entity); }
const char *vmi_osinfo_product_get_short_id(void *product) { return p_osinfo_product_get_short_id((OsinfoProduct *)product); }
const char *vmi_osinfo_product_get_name(void *product) { return p_osinfo_product_get_name((OsinfoProduct *)product); }
const char *vmi_osinfo_os_get_family(OsinfoOs *os) { return p_osinfo_os_get_family(os); }
OsinfoResourcesList *vmi_osinfo_os_get_minimum_resources(OsinfoOs *os) { return p_osinfo_os_get_minimum_resources(os); }
OsinfoResourcesList *vmi_osinfo_os_get_recommended_resources(OsinfoOs *os) { return p_osinfo_os_get_recommended_resources(os); }
OsinfoDeviceList *vmi_osinfo_os_get_all_devices(OsinfoOs *os) { return p_osinfo_os_get_all_devices(os, NULL); }
OsinfoFirmwareList *vmi_osinfo_os_get_complete_firmware_list(OsinfoOs *os) { return p_osinfo_os_get_complete_firmware_list(os, NULL); }
OsinfoInstallScriptList *vmi_osinfo_os_get_install_script_list(OsinfoOs *os) { return p_osinfo_os_get_install_script_list(os); }

const char *vmi_osinfo_resources_get_architecture(OsinfoResources *r) { return p_osinfo_resources_get_architecture(r); }
int vmi_osinfo_resources_get_n_cpus(OsinfoResources *r) { return p_osinfo_resources_get_n_cpus(r); }
int64_t vmi_osinfo_resources_get_ram(OsinfoResources *r) { return p_osinfo_resources_get_ram(r); }
int64_t vmi_osinfo_resources_get_storage(OsinfoResources *r) { return p_osinfo_resources_get_storage(r); }

const char *vmi_osinfo_firmware_get_architecture(OsinfoFirmware *f) { return p_osinfo_firmware_get_architecture(f); }
const char *vmi_osinfo_firmware_get_firmware_type(OsinfoFirmware *f) { return p_osinfo_firmware_get_firmware_type(f); }
int vmi_osinfo_firmware_is_supported(OsinfoFirmware *f) { return p_osinfo_firmware_is_supported(f); }

/*
 * libosinfo's synchronous calls run a GMainLoop on the thread-default context, which is
 * GLib's global default unless the thread has one of its own. libvirt's event loop thread
 * iterates that global default whenever libvirt is loaded too, and the two threads then
 * contend for it: a media read was seen to hang in g_main_loop_run. Each such call gets a
 * context of its own, pushed for the call's length.
 */
static GMainContext *own_context_begin(void) {
    GMainContext *context = p_g_main_context_new();
    p_g_main_context_push_thread_default(context);
    return context;
}
static void own_context_end(GMainContext *context) {
    p_g_main_context_pop_thread_default(context);
    p_g_main_context_unref(context);
}
#define VMI_IN_OWN_CONTEXT(result, call)                 \
    do {                                                 \
        GMainContext *vmi_context = own_context_begin(); \
        result = call;                                   \
        own_context_end(vmi_context);                    \
    } while (0)

OsinfoMedia *vmi_osinfo_media_create_from_location(const char *location, char **error) {
    GError *e = NULL;
    OsinfoMedia *media;
    VMI_IN_OWN_CONTEXT(media, p_osinfo_media_create_from_location(location, NULL, &e));
    take_error(e, error);
    return media;
}
int vmi_osinfo_db_identify_media(OsinfoDb *db, OsinfoMedia *media) { return p_osinfo_db_identify_media(db, media); }
OsinfoOs *vmi_osinfo_media_get_os(OsinfoMedia *media) { return p_osinfo_media_get_os(media); }
const char *vmi_osinfo_media_get_volume_id(OsinfoMedia *media) { return p_osinfo_media_get_volume_id(media); }
int vmi_osinfo_media_supports_installer_script(OsinfoMedia *media) { return p_osinfo_media_supports_installer_script(media); }
OsinfoInstallScriptList *vmi_osinfo_media_get_install_script_list(OsinfoMedia *media) { return p_osinfo_media_get_install_script_list(media); }
OsinfoTree *vmi_osinfo_tree_create_from_treeinfo(const char *treeinfo, const char *location, char **error) {
    GError *e = NULL;
    OsinfoTree *tree = p_osinfo_tree_create_from_treeinfo(treeinfo, location, &e);
    take_error(e, error);
    return tree;
}
/* libosinfo 1.10's media_volume_compare() (osinfo/osinfo_db.c), the order compare_media() sorts by. */
static gint media_volume_compare(gconstpointer a, gconstpointer b) {
    OsinfoMedia *media_a = (OsinfoMedia *)a;
    OsinfoMedia *media_b = (OsinfoMedia *)b;
    const gchar *volume_a = p_osinfo_media_get_volume_id(media_a);
    const gchar *volume_b = p_osinfo_media_get_volume_id(media_b);
    if (volume_a == NULL || volume_b == NULL) return 0;
    if (strstr(volume_a, volume_b) != NULL) {
        gint64 volume_size_a = p_osinfo_media_get_volume_size(media_a);
        gint64 volume_size_b = p_osinfo_media_get_volume_size(media_b);
        if (volume_size_a != -1 && volume_size_b == -1) return -1;
        if (volume_size_b != -1 && volume_size_a == -1) return 1;
        return -1;
    }
    return 1;
}
/* A list's elements, in osinfo_list_get_elements' order, as a list of the same kind. */
static void add_in_element_order(OsinfoList *list, OsinfoList *source, GCompareFunc sort) {
    GList *elements = p_osinfo_list_get_elements(source);
    if (sort) elements = p_g_list_sort(elements, sort);
    for (GList *node = elements; node; node = node->next) p_osinfo_list_add(list, node->data);
    p_g_list_free(elements);
}
OsinfoOsList *vmi_osinfo_db_get_os_list_in_match_order(OsinfoDb *db) {
    OsinfoOsList *list = p_osinfo_db_get_os_list(db);
    OsinfoOsList *ordered = p_osinfo_oslist_new();
    add_in_element_order((OsinfoList *)ordered, (OsinfoList *)list, NULL);
    p_g_object_unref(list);
    return ordered;
}
int vmi_osinfo_os_is_rolling(OsinfoOs *os) { return p_osinfo_os_get_release_status(os) == OSINFO_RELEASE_STATUS_ROLLING; }
OsinfoMediaList *vmi_osinfo_os_get_media_in_match_order(OsinfoOs *os) {
    OsinfoMediaList *list = p_osinfo_os_get_media_list(os);
    OsinfoMediaList *sorted = p_osinfo_medialist_new();
    add_in_element_order((OsinfoList *)sorted, (OsinfoList *)list, media_volume_compare);
    p_g_object_unref(list);
    return sorted;
}
OsinfoTreeList *vmi_osinfo_os_get_trees_in_match_order(OsinfoOs *os) {
    OsinfoTreeList *list = p_osinfo_os_get_tree_list(os);
    OsinfoTreeList *ordered = p_osinfo_treelist_new();
    add_in_element_order((OsinfoList *)ordered, (OsinfoList *)list, NULL);
    p_g_object_unref(list);
    return ordered;
}
const char *vmi_osinfo_media_get_architecture(OsinfoMedia *m) { return p_osinfo_media_get_architecture(m); }
const char *vmi_osinfo_media_get_system_id(OsinfoMedia *m) { return p_osinfo_media_get_system_id(m); }
const char *vmi_osinfo_media_get_publisher_id(OsinfoMedia *m) { return p_osinfo_media_get_publisher_id(m); }
const char *vmi_osinfo_media_get_application_id(OsinfoMedia *m) { return p_osinfo_media_get_application_id(m); }
int64_t vmi_osinfo_media_get_volume_size(OsinfoMedia *m) { return p_osinfo_media_get_volume_size(m); }
const char *vmi_osinfo_tree_get_architecture(OsinfoTree *t) { return p_osinfo_tree_get_architecture(t); }
const char *vmi_osinfo_tree_get_treeinfo_family(OsinfoTree *t) { return p_osinfo_tree_get_treeinfo_family(t); }
const char *vmi_osinfo_tree_get_treeinfo_variant(OsinfoTree *t) { return p_osinfo_tree_get_treeinfo_variant(t); }
const char *vmi_osinfo_tree_get_treeinfo_version(OsinfoTree *t) { return p_osinfo_tree_get_treeinfo_version(t); }
const char *vmi_osinfo_tree_get_treeinfo_arch(OsinfoTree *t) { return p_osinfo_tree_get_treeinfo_arch(t); }
int vmi_osinfo_tree_has_treeinfo(OsinfoTree *t) { return p_osinfo_tree_has_treeinfo(t) ? 1 : 0; }
OsinfoMedia *vmi_osinfo_media_new(const char *id, const char *architecture) { return p_osinfo_media_new(id, architecture); }
void vmi_osinfo_entity_set_param(void *entity, const char *key, const char *value) {
    p_osinfo_entity_set_param((OsinfoEntity *)entity, key, value);
}
void vmi_osinfo_entity_set_param_int64(void *entity, const char *key, int64_t value) {
    p_osinfo_entity_set_param_int64((OsinfoEntity *)entity, key, value);
}
const char *vmi_osinfo_entity_get_param_value(void *entity, const char *key) {
    return p_osinfo_entity_get_param_value((OsinfoEntity *)entity, key);
}
OsinfoMediaList *vmi_osinfo_db_identify_medialist(OsinfoDb *db, OsinfoMedia *media) {
    return p_osinfo_db_identify_medialist(db, media);
}
int vmi_osinfo_db_identify_tree(OsinfoDb *db, OsinfoTree *tree) { return p_osinfo_db_identify_tree(db, tree); }
OsinfoOs *vmi_osinfo_tree_get_os(OsinfoTree *tree) { return p_osinfo_tree_get_os(tree); }

const char *vmi_osinfo_install_script_get_profile(OsinfoInstallScript *s) { return p_osinfo_install_script_get_profile(s); }
const char *vmi_osinfo_install_script_get_expected_filename(OsinfoInstallScript *s) { return p_osinfo_install_script_get_expected_filename(s); }
unsigned int vmi_osinfo_install_script_get_injection_methods(OsinfoInstallScript *s) { return p_osinfo_install_script_get_injection_methods(s); }
void vmi_osinfo_install_script_set_preferred_injection_method(OsinfoInstallScript *s, unsigned int method) {
    p_osinfo_install_script_set_preferred_injection_method(s, (OsinfoInstallScriptInjectionMethod)method);
}
void vmi_osinfo_install_script_set_installation_source(OsinfoInstallScript *s, int source) {
    p_osinfo_install_script_set_installation_source(s, (OsinfoInstallScriptInstallationSource)source);
}
int vmi_osinfo_install_script_requires(OsinfoInstallScript *s, const char *name) {
    OsinfoInstallConfigParam *param = p_osinfo_install_script_get_config_param(s, name);
    if (!param) return 0;
    int required = !p_osinfo_install_config_param_is_optional(param);
    p_g_object_unref(param);
    return required;
}

OsinfoInstallConfig *vmi_osinfo_install_config_new(const char *id) { return p_osinfo_install_config_new(id); }
#define VMI_CONFIG_SETTER(field)                                                           \
    void vmi_osinfo_install_config_set_##field(OsinfoInstallConfig *config, const char *value) { \
        p_osinfo_install_config_set_##field(config, value);                                \
    }
VMI_CONFIG_SETTER(admin_password)
VMI_CONFIG_SETTER(user_login)
VMI_CONFIG_SETTER(user_realname)
VMI_CONFIG_SETTER(user_password)
VMI_CONFIG_SETTER(target_disk)
VMI_CONFIG_SETTER(hardware_arch)
VMI_CONFIG_SETTER(hostname)
VMI_CONFIG_SETTER(l10n_timezone)
VMI_CONFIG_SETTER(l10n_language)
VMI_CONFIG_SETTER(l10n_keyboard)
VMI_CONFIG_SETTER(installation_url)
VMI_CONFIG_SETTER(reg_product_key)

char *vmi_osinfo_install_script_generate_for_media(OsinfoInstallScript *s, OsinfoMedia *media, OsinfoInstallConfig *config, char **error) {
    GError *e = NULL;
    char *text;
    VMI_IN_OWN_CONTEXT(text, p_osinfo_install_script_generate_for_media(s, media, config, NULL, &e));
    take_error(e, error);
    return text;
}
char *vmi_osinfo_install_script_generate_for_tree(OsinfoInstallScript *s, OsinfoTree *tree, OsinfoInstallConfig *config, char **error) {
    GError *e = NULL;
    char *text;
    VMI_IN_OWN_CONTEXT(text, p_osinfo_install_script_generate_for_tree(s, tree, config, NULL, &e));
    take_error(e, error);
    return text;
}
char *vmi_osinfo_install_script_generate(OsinfoInstallScript *s, OsinfoOs *os, OsinfoInstallConfig *config, char **error) {
    GError *e = NULL;
    char *text;
    VMI_IN_OWN_CONTEXT(text, p_osinfo_install_script_generate(s, os, config, NULL, &e));
    take_error(e, error);
    return text;
}
char *vmi_osinfo_install_script_generate_command_line_for_media(OsinfoInstallScript *s, OsinfoMedia *media, OsinfoInstallConfig *config) {
    char *text;
    VMI_IN_OWN_CONTEXT(text, p_osinfo_install_script_generate_command_line_for_media(s, media, config));
    return text;
}
char *vmi_osinfo_install_script_generate_command_line_for_tree(OsinfoInstallScript *s, OsinfoTree *tree, OsinfoInstallConfig *config) {
    char *text;
    VMI_IN_OWN_CONTEXT(text, p_osinfo_install_script_generate_command_line_for_tree(s, tree, config));
    return text;
}
char *vmi_osinfo_install_script_generate_command_line(OsinfoInstallScript *s, OsinfoOs *os, OsinfoInstallConfig *config) {
    char *text;
    VMI_IN_OWN_CONTEXT(text, p_osinfo_install_script_generate_command_line(s, os, config));
    return text;
}
char *vmi_osinfo_product_get_upstream(void *product) {
    static const OsinfoProductRelationship kinds[] = {
        OSINFO_PRODUCT_RELATIONSHIP_CLONES, OSINFO_PRODUCT_RELATIONSHIP_DERIVES_FROM};
    size_t length = 0;
    char *ids = NULL;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        OsinfoProductList *list = p_osinfo_product_get_related((OsinfoProduct *)product, kinds[k]);
        if (list == NULL) continue;
        for (int i = 0; i < p_osinfo_list_get_length((OsinfoList *)list); i++) {
            const char *id = p_osinfo_entity_get_id(p_osinfo_list_get_nth((OsinfoList *)list, i));
            if (id == NULL) continue;
            size_t n = strlen(id);
            char *grown = realloc(ids, length + n + 2);
            if (grown == NULL) break;
            ids = grown;
            memcpy(ids + length, id, n);
            ids[length + n] = '\n';
            ids[length + n + 1] = '\0';
            length += n + 1;
        }
        p_g_object_unref(list);
    }
    if (ids == NULL) return NULL;
    char *copy = p_g_strdup(ids);
    free(ids);
    return copy;
}
