#ifndef VMI_COSINFO_H
#define VMI_COSINFO_H
/*
 * libosinfo for vm-install, loaded on first use with dlopen rather than linked: only what
 * uses the OS database loads it (with glib, gio, libxml2, libsoup and their libraries), so
 * vm-install-jobs, and vm-install without --os-type or media to identify, start as before.
 *
 * This header needs no glib: libosinfo's types are incomplete here (the same typedefs as
 * libosinfo's), strings are char, booleans int. cosinfo.c implements each vmi_osinfo_NAME
 * with the real declarations in view, calling a pointer resolved by vmi_osinfo_load().
 * Ownership is libosinfo's, as its documentation says: "full" results are released with
 * vmi_osinfo_unref (objects) or vmi_osinfo_free (strings); "none" results are borrowed.
 * libosinfo is not thread-safe: make every call on one thread.
 */
#include <stdint.h>

typedef struct _OsinfoLoader OsinfoLoader;
typedef struct _OsinfoDb OsinfoDb;
typedef struct _OsinfoOs OsinfoOs;
typedef struct _OsinfoOsList OsinfoOsList;
typedef struct _OsinfoResources OsinfoResources;
typedef struct _OsinfoResourcesList OsinfoResourcesList;
typedef struct _OsinfoDevice OsinfoDevice;
typedef struct _OsinfoDeviceList OsinfoDeviceList;
typedef struct _OsinfoFirmware OsinfoFirmware;
typedef struct _OsinfoFirmwareList OsinfoFirmwareList;
typedef struct _OsinfoMedia OsinfoMedia;
typedef struct _OsinfoTree OsinfoTree;
typedef struct _OsinfoMediaList OsinfoMediaList;
typedef struct _OsinfoTreeList OsinfoTreeList;
typedef struct _OsinfoInstallScript OsinfoInstallScript;
typedef struct _OsinfoInstallScriptList OsinfoInstallScriptList;
typedef struct _OsinfoInstallConfig OsinfoInstallConfig;

/* Loads libosinfo and resolves every function below. Returns NULL on success, else why not. */
const char *vmi_osinfo_load(void);

/* g_object_unref for "full" objects, g_free for "full" strings. */
void vmi_osinfo_unref(void *object);
void vmi_osinfo_free(void *memory);

/* Each `char **error` receives NULL, or on failure a message to release with vmi_osinfo_free. */

/* The database. */
OsinfoLoader *vmi_osinfo_loader_new(void);                                          /* full */
void vmi_osinfo_loader_process_default_path(OsinfoLoader *loader, char **error);
OsinfoDb *vmi_osinfo_loader_get_db(OsinfoLoader *loader);                           /* none */
OsinfoOsList *vmi_osinfo_db_get_os_list(OsinfoDb *db);                              /* full */

/* Any OsinfoList (OsinfoOsList, OsinfoResourcesList, ...). */
int vmi_osinfo_list_get_length(void *list);
void *vmi_osinfo_list_get_nth(void *list, int index);                              /* none */

/* Operating systems (products, entities). */
const char *vmi_osinfo_entity_get_id(void *entity);
const char *vmi_osinfo_product_get_short_id(void *product);
const char *vmi_osinfo_product_get_name(void *product);
const char *vmi_osinfo_os_get_family(OsinfoOs *os);
OsinfoResourcesList *vmi_osinfo_os_get_minimum_resources(OsinfoOs *os);            /* full */
OsinfoResourcesList *vmi_osinfo_os_get_recommended_resources(OsinfoOs *os);        /* full */
OsinfoDeviceList *vmi_osinfo_os_get_all_devices(OsinfoOs *os);                      /* full */
OsinfoFirmwareList *vmi_osinfo_os_get_complete_firmware_list(OsinfoOs *os);         /* full */
OsinfoInstallScriptList *vmi_osinfo_os_get_install_script_list(OsinfoOs *os);      /* full */

const char *vmi_osinfo_resources_get_architecture(OsinfoResources *resources);
int vmi_osinfo_resources_get_n_cpus(OsinfoResources *resources);
int64_t vmi_osinfo_resources_get_ram(OsinfoResources *resources);
int64_t vmi_osinfo_resources_get_storage(OsinfoResources *resources);

const char *vmi_osinfo_firmware_get_architecture(OsinfoFirmware *firmware);
const char *vmi_osinfo_firmware_get_firmware_type(OsinfoFirmware *firmware);
int vmi_osinfo_firmware_is_supported(OsinfoFirmware *firmware);

/* Identification. */
OsinfoMedia *vmi_osinfo_media_create_from_location(const char *location, char **error); /* full */
int vmi_osinfo_db_identify_media(OsinfoDb *db, OsinfoMedia *media);
OsinfoOs *vmi_osinfo_media_get_os(OsinfoMedia *media);                              /* full */
const char *vmi_osinfo_media_get_volume_id(OsinfoMedia *media);
int vmi_osinfo_media_supports_installer_script(OsinfoMedia *media);
OsinfoInstallScriptList *vmi_osinfo_media_get_install_script_list(OsinfoMedia *media); /* full */
OsinfoTree *vmi_osinfo_tree_create_from_treeinfo(const char *treeinfo, const char *location, char **error); /* full */
int vmi_osinfo_db_identify_tree(OsinfoDb *db, OsinfoTree *tree);
OsinfoOs *vmi_osinfo_tree_get_os(OsinfoTree *tree);                                 /* full */

/*
 * What osinfo_db_identify_media and osinfo_db_identify_tree compare, for the osinfo index:
 * the database's systems in the order libosinfo 1.10 tries them (osinfo_list_get_elements,
 * a hash table's order, of its list: its copy, made by the same insertions, has the same
 * order, as the loader adds each OS once); an OS's release status is rolling (1) or not; its media in the order libosinfo 1.10's
 * compare_media() tries them (its media list's elements sorted by its media_volume_compare());
 * its trees in the order compare_tree() tries them (its tree list's elements). Strings may be NULL; a volume size is -1 when unknown.
 */
OsinfoOsList *vmi_osinfo_db_get_os_list_in_match_order(OsinfoDb *db);              /* full */
int vmi_osinfo_os_is_rolling(OsinfoOs *os);
OsinfoMediaList *vmi_osinfo_os_get_media_in_match_order(OsinfoOs *os);             /* full */
OsinfoTreeList *vmi_osinfo_os_get_trees_in_match_order(OsinfoOs *os);              /* full */
const char *vmi_osinfo_media_get_architecture(OsinfoMedia *media);
const char *vmi_osinfo_media_get_system_id(OsinfoMedia *media);
const char *vmi_osinfo_media_get_publisher_id(OsinfoMedia *media);
const char *vmi_osinfo_media_get_application_id(OsinfoMedia *media);
int64_t vmi_osinfo_media_get_volume_size(OsinfoMedia *media);
const char *vmi_osinfo_tree_get_architecture(OsinfoTree *tree);
const char *vmi_osinfo_tree_get_treeinfo_family(OsinfoTree *tree);
const char *vmi_osinfo_tree_get_treeinfo_variant(OsinfoTree *tree);
const char *vmi_osinfo_tree_get_treeinfo_version(OsinfoTree *tree);
const char *vmi_osinfo_tree_get_treeinfo_arch(OsinfoTree *tree);
int vmi_osinfo_tree_has_treeinfo(OsinfoTree *tree);
/* For tests: media made by hand, as osinfo_media_create_from_location makes them. */
OsinfoMedia *vmi_osinfo_media_new(const char *id, const char *architecture);        /* full */
void vmi_osinfo_entity_set_param(void *entity, const char *key, const char *value);
void vmi_osinfo_entity_set_param_int64(void *entity, const char *key, int64_t value);
const char *vmi_osinfo_entity_get_param_value(void *entity, const char *key);
/* The ids of the systems `product` clones or derives from (osinfo-db's <clones> and
 * <derives-from>), one a line; NULL when none. Release with vmi_osinfo_free. */
char *vmi_osinfo_product_get_upstream(void *product);                               /* full */
/* Every database medium that matches, the first one first (no media filled in, so no lang-regex read). */
OsinfoMediaList *vmi_osinfo_db_identify_medialist(OsinfoDb *db, OsinfoMedia *media); /* full */

/* Install scripts. Injection methods and installation sources are libosinfo's values. */
enum {
    VMI_OSINFO_INJECTION_CDROM = 1 << 0,
    VMI_OSINFO_INJECTION_DISK = 1 << 1,
    VMI_OSINFO_INJECTION_FLOPPY = 1 << 2,
    VMI_OSINFO_INJECTION_INITRD = 1 << 3,
    VMI_OSINFO_INJECTION_WEB = 1 << 4,
};
enum {
    VMI_OSINFO_SOURCE_MEDIA = 0,
    VMI_OSINFO_SOURCE_NETWORK = 1,
};
const char *vmi_osinfo_install_script_get_profile(OsinfoInstallScript *script);
const char *vmi_osinfo_install_script_get_expected_filename(OsinfoInstallScript *script);
unsigned int vmi_osinfo_install_script_get_injection_methods(OsinfoInstallScript *script);
void vmi_osinfo_install_script_set_preferred_injection_method(OsinfoInstallScript *script, unsigned int method);
void vmi_osinfo_install_script_set_installation_source(OsinfoInstallScript *script, int source);
/* 1 when the script takes the configuration parameter NAME and it is not optional. */
int vmi_osinfo_install_script_requires(OsinfoInstallScript *script, const char *name);

OsinfoInstallConfig *vmi_osinfo_install_config_new(const char *id);                 /* full */
void vmi_osinfo_install_config_set_admin_password(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_user_login(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_user_realname(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_user_password(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_target_disk(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_hardware_arch(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_hostname(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_l10n_timezone(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_l10n_language(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_l10n_keyboard(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_installation_url(OsinfoInstallConfig *config, const char *value);
void vmi_osinfo_install_config_set_reg_product_key(OsinfoInstallConfig *config, const char *value);

/* The script's text and its kernel command line (full strings; the command line may be NULL). */
char *vmi_osinfo_install_script_generate_for_media(OsinfoInstallScript *script, OsinfoMedia *media, OsinfoInstallConfig *config, char **error);
char *vmi_osinfo_install_script_generate_for_tree(OsinfoInstallScript *script, OsinfoTree *tree, OsinfoInstallConfig *config, char **error);
char *vmi_osinfo_install_script_generate(OsinfoInstallScript *script, OsinfoOs *os, OsinfoInstallConfig *config, char **error);
char *vmi_osinfo_install_script_generate_command_line_for_media(OsinfoInstallScript *script, OsinfoMedia *media, OsinfoInstallConfig *config);
char *vmi_osinfo_install_script_generate_command_line_for_tree(OsinfoInstallScript *script, OsinfoTree *tree, OsinfoInstallConfig *config);
char *vmi_osinfo_install_script_generate_command_line(OsinfoInstallScript *script, OsinfoOs *os, OsinfoInstallConfig *config);

#endif
