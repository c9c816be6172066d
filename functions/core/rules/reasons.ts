/**
 * Every reason code of migration-rules.md, the decision it carries and its text in plain words for
 * receipts. One table, so that another language is one more column.
 */
export type Decision = 'migrated' | 'dropped' | 'quarantined';

export const REASONS = {
  TWINSPACE_ELIGIBLE: {
    decision: 'migrated',
    rule: 'TS-1',
    en: 'The project was registered on or after the cut-off date, so its TwinSpace moves to ESEP.',
    nl: 'Het project is op of na de peildatum geregistreerd, dus de TwinSpace wordt gemigreerd naar het ESEP.',
  },
  TWINSPACE_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'TS-1',
    en: 'The project was registered before the cut-off date; its TwinSpace is deleted.',
    nl: 'Het project is vóór de peildatum geregistreerd; de TwinSpace wordt verwijderd.',
  },
  CONTENT_ELIGIBLE: {
    decision: 'migrated',
    rule: 'TS-2',
    en: 'The content was created on or after the cut-off date and moves to ESEP.',
    nl: 'De inhoud is op of na de peildatum gemaakt en wordt gemigreerd naar het ESEP.',
  },
  CONTENT_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'TS-2',
    en: 'The content was created before the cut-off date and is deleted.',
    nl: 'De inhoud is vóór de peildatum gemaakt en wordt verwijderd.',
  },
  PARENT_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'TS-3, GR-4',
    en: 'The TwinSpace or group it belongs to is not migrated, so it goes with it.',
    nl: 'De TwinSpace of groep waartoe het behoort wordt niet gemigreerd, dus het gaat mee.',
  },
  PARENT_QUARANTINED: {
    decision: 'quarantined',
    rule: 'TS-3, GR-4, PR-7',
    en: 'The TwinSpace, group or account it belongs to is held for a person to check; it is held with it.',
    nl: 'De TwinSpace, groep of account waartoe het behoort wordt door een medewerker nagekeken; het wordt samen daarmee vastgehouden.',
  },
  GROUP_ACTIVE: {
    decision: 'migrated',
    rule: 'GR-1',
    en: 'The group was active in the activity window and moves to ESEP with its members.',
    nl: 'De groep was actief in de activiteitsperiode en wordt met haar leden gemigreerd naar het ESEP.',
  },
  GROUP_INACTIVE: {
    decision: 'dropped',
    rule: 'GR-1',
    en: 'The group had no activity in the activity window and is deleted.',
    nl: 'De groep had geen activiteit in de activiteitsperiode en wordt verwijderd.',
  },
  GROUP_ACTIVITY_UNKNOWN: {
    decision: 'quarantined',
    rule: 'GR-1',
    en: 'Whether the group was active cannot be told: some of its content arrived damaged. It is held for a person to check, not deleted.',
    nl: 'Of de groep actief was, valt niet vast te stellen: een deel van de inhoud kwam beschadigd aan. Een medewerker kijkt ernaar; de groep wordt niet verwijderd.',
  },
  PROFILE_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-1',
    en: 'The profile is kept and shown once you register on ESEP with the same e-mail.',
    nl: 'Het profiel blijft bewaard en wordt getoond zodra u zich op het ESEP registreert met hetzelfde e-mailadres.',
  },
  SEG_SUPERSEDED: {
    decision: 'dropped',
    rule: 'ID-3, PR-7',
    en: 'You also have an eTwinning account with this e-mail; only the eTwinning data moves.',
    nl: 'U hebt ook een eTwinning-account met dit e-mailadres; alleen de eTwinning-gegevens worden gemigreerd.',
  },
  ACTIVITY_ELIGIBLE: {
    decision: 'migrated',
    rule: 'PR-2',
    en: 'The profile activity took place on or after the cut-off date and is shown on ESEP.',
    nl: 'De profielactiviteit vond plaats op of na de peildatum en wordt op het ESEP getoond.',
  },
  ACTIVITY_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'PR-2',
    en: 'The profile activity took place before the cut-off date and is deleted.',
    nl: 'De profielactiviteit vond plaats vóór de peildatum en wordt verwijderd.',
  },
  PORTFOLIO_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-3',
    en: 'Portfolio entries move to your ESEP portfolio, whatever their date.',
    nl: 'Portfolio-items worden gemigreerd naar uw ESEP-portfolio, ongeacht hun datum.',
  },
  PHOTO_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'PR-4',
    en: 'Only the profile photo moves; other photos are deleted.',
    nl: 'Alleen de profielfoto wordt gemigreerd; alle andere foto’s worden verwijderd.',
  },
  CONTACTS_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'PR-5',
    en: 'Contacts, followers and followed users are not migrated.',
    nl: 'Contacten, volgers en gevolgde gebruikers worden niet gemigreerd.',
  },
  CONTACTS_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-5',
    en: 'Contacts are migrated under the policy in force for this run.',
    nl: 'Contacten worden gemigreerd volgens het beleid van deze migratie.',
  },
  EVENT_ELIGIBLE: {
    decision: 'migrated',
    rule: 'EV-1',
    en: "The event was organised by a support organisation or ambassador and moves to participants' portfolios.",
    nl: 'Het evenement werd georganiseerd door een ondersteuningsorganisatie of ambassadeur en wordt gemigreerd naar het portfolio van de deelnemers.',
  },
  EVENT_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'EV-1',
    en: 'The event took place before the cut-off date that this migration applies to events, and is deleted.',
    nl: 'Het evenement vond plaats vóór de peildatum die deze migratie voor evenementen hanteert, en wordt verwijderd.',
  },
  EVENT_ORGANISER_NOT_ELIGIBLE: {
    decision: 'dropped',
    rule: 'EV-2',
    en: 'eTwinning Live events of other organisers do not continue on ESEP.',
    nl: 'eTwinning Live-evenementen van andere organisatoren worden op het ESEP niet voortgezet.',
  },
  LEARNING_LAB_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'EV-3',
    en: 'The Learning Lab and the content of past events are deleted.',
    nl: 'Het Learning Lab en alle inhoud van evenementen uit het verleden worden verwijderd.',
  },
  MAILBOX_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-1',
    en: 'eTwinning Live mailbox messages are deleted; ESEP has a new mailbox.',
    nl: 'Berichten in de mailbox van eTwinning Live worden verwijderd; het ESEP heeft een nieuwe mailbox.',
  },
  FEED_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-2',
    en: 'Feed posts and their comments are deleted.',
    nl: 'Berichten in feeds en de reacties erop worden verwijderd.',
  },
  PARTNER_FORUM_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-3',
    en: 'Partner-finding forum posts are deleted; ESEP has a new Networking area.',
    nl: 'Berichten in de partnerzoekforums worden verwijderd; het ESEP heeft een nieuw gebied ‘Netwerken’.',
  },
  IN_LATER_EXPORT: {
    decision: 'dropped',
    rule: 'ID-9',
    en: 'A later export holds this TwinSpace or group too; it is migrated from there, as that export has it.',
    nl: 'Een latere export bevat deze TwinSpace of groep ook; die wordt van daaruit gemigreerd, zoals die export hem heeft.',
  },
  INVALID_RECORD: {
    decision: 'quarantined',
    rule: 'DQ-1',
    en: 'The record could not be read as delivered; the support service will look at it.',
    nl: 'Het gegeven kon niet worden gelezen zoals het werd aangeleverd; de ondersteuningsdienst kijkt ernaar.',
  },
  DUPLICATE_ID: {
    decision: 'quarantined',
    rule: 'DQ-2',
    en: 'Another record with the same id came first; this copy is held for review.',
    nl: 'Een ander gegeven met hetzelfde id kwam eerst; deze kopie wordt vastgehouden voor controle.',
  },
  ORPHAN_RECORD: {
    decision: 'quarantined',
    rule: 'DQ-3, PR-7',
    en: 'The TwinSpace, group or account it belongs to is in no export; it is held for review.',
    nl: 'De TwinSpace, groep of account waartoe het behoort zit in geen enkele export; het wordt vastgehouden voor controle.',
  },
  BLOB_MISSING: {
    decision: 'quarantined',
    rule: 'DQ-4',
    en: 'Its file is missing from the export; it is held for review.',
    nl: 'Het bestand ontbreekt in de export; het wordt vastgehouden voor controle.',
  },
  BLOB_CHECKSUM_MISMATCH: {
    decision: 'quarantined',
    rule: 'DQ-5',
    en: 'Its file arrived damaged; it is held for review.',
    nl: 'Het bestand kwam beschadigd aan; het wordt vastgehouden voor controle.',
  },
} as const satisfies Record<string, { decision: Decision; rule: string; en: string; nl: string }>;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

/**
 * The reason codes of account linking (ID-2 to ID-9) and their texts in plain words, for the support desk
 * and the people it answers. Not decisions of records: a registration's outcome, or an event of the index.
 */
export const LINK_REASONS = {
  LINKED: {
    rule: 'ID-2',
    en: 'Your ESEP account is linked to your legacy account with the same e-mail address; its migrated data appears in ESEP.',
    nl: 'Uw ESEP-account is gekoppeld aan uw oude account met hetzelfde e-mailadres; de gemigreerde gegevens verschijnen op het ESEP.',
  },
  RELINKED: {
    rule: 'ID-3',
    en: 'An eTwinning account with your e-mail address arrived: your ESEP account now shows its data instead of the School Education Gateway account.',
    nl: 'Er is een eTwinning-account met uw e-mailadres aangekomen: uw ESEP-account toont nu die gegevens in plaats van die van het School Education Gateway-account.',
  },
  LINK_PENDING: {
    rule: 'ID-4',
    en: 'No migrated legacy account has this e-mail address yet; your ESEP account is linked as soon as one arrives.',
    nl: 'Er is nog geen gemigreerd oud account met dit e-mailadres; uw ESEP-account wordt gekoppeld zodra er een aankomt.',
  },
  LINK_FROZEN: {
    rule: 'ID-4',
    en: 'The e-mail address of your first ESEP registration is the one that counts; a later registration with another address changes nothing.',
    nl: 'Het e-mailadres van uw eerste ESEP-registratie telt; een latere registratie met een ander adres verandert niets.',
  },
  AMBIGUOUS_LEGACY_EMAIL: {
    rule: 'ID-8',
    en: 'More than one legacy account has this e-mail address; the national support service links the right one by hand.',
    nl: 'Meer dan één oud account heeft dit e-mailadres; de nationale ondersteuningsdienst koppelt het juiste account met de hand.',
  },
  LEGACY_EMAIL_CHANGED: {
    rule: 'ID-9',
    en: 'A later export gave this legacy account another e-mail address; links stay as they are and the support service is told.',
    nl: 'Een latere export gaf dit oude account een ander e-mailadres; koppelingen blijven zoals ze zijn en de ondersteuningsdienst wordt ingelicht.',
  },
} as const satisfies Record<string, { rule: string; en: string; nl: string }>;

export type LinkReasonCode = keyof typeof LINK_REASONS;
